"""The runs a user reported the old diagnosis got wrong with high confidence (issue 10), as regression tests."""

import lossgap
from lossgap import DataConfig, ModelConfig, OptimizerConfig, TrainConfig


def diagnose_trained(tmp_path, source, **changes):
    config = TrainConfig(data=DataConfig(source=source), epochs=30, **changes)
    return lossgap.train(config, tmp_path / "run").diagnosis


def test_sgd_at_learning_rate_3_is_unstable_optimisation_not_label_noise(tmp_path):
    diagnosis = diagnose_trained(tmp_path, "synthetic:frequency,samples=600,classes=3",
                                 optimizer=OptimizerConfig(name="sgd", lr=3.0))
    assert diagnosis.causes[0] == "unstable_optimization", diagnosis.to_text()
    assert "label_noise" not in diagnosis.causes
    assert any(remedy.name == "lower_lr" for remedy in diagnosis.verdicts[0].remedies)


def test_a_model_of_one_unit_that_fits_nothing_is_underfitting_not_no_signal(tmp_path):
    diagnosis = diagnose_trained(tmp_path, "synthetic:frequency,samples=800,classes=8",
                                 model=ModelConfig(hidden_size=1))
    assert diagnosis.causes[0] == "underfitting", diagnosis.to_text()
    assert "no_signal" not in diagnosis.causes
    remedy = next(remedy for remedy in diagnosis.verdicts[0].remedies if remedy.name == "larger_hidden")
    assert remedy.changes["model.hidden_size"] >= 32 and "--hidden" in remedy.command
