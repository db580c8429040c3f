"""class_imbalance_bias: rare classes recalled far worse than the frequent ones."""

from fixtures.diagnosis import diagnose_dynamics, healthy_run, majority_only_run


def test_a_majority_only_model_on_90_5_5_data_is_class_imbalance_bias():
    diagnosis = diagnose_dynamics(majority_only_run())
    assert diagnosis.causes[0] == "class_imbalance_bias", diagnosis.to_text()
    evidence = diagnosis.verdicts[0].evidence
    assert evidence["val_accuracy"] == 0.9 and abs(evidence["val_balanced_accuracy"] - 1 / 3) < 1e-9
    assert evidence["rare_classes"] == [1, 2] and evidence["recall_deficit"] == 1.0
    assert any(remedy.name == "class_weights" for remedy in diagnosis.verdicts[0].remedies)


def test_balanced_classes_are_never_imbalance():
    assert diagnose_dynamics(healthy_run()).verdict("class_imbalance_bias").confidence == 0.0
