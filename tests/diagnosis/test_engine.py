"""The diagnosis on hand-made dynamics where the answer is known, and its edge cases."""

import json

import numpy as np

from fixtures.dynamics import binary_dynamics, dynamics_from_logits
from lossgap.diagnosis import diagnose_evidence, gather_evidence


def diagnose(dynamics, metrics=None, config=None):
    evidence = gather_evidence(metrics or {}, dynamics, train_config=config)
    diagnosis = diagnose_evidence(evidence)
    json.dumps(diagnosis.to_dict(), allow_nan=False)  # diagnosis.json never holds NaN
    return diagnosis


def learned_then_converged(num_samples, epochs=20, seed=0):
    """True-class probabilities that rise from 0.3 to ~0.9 over 5 epochs, then stay put (small noise)."""
    rng = np.random.default_rng(seed)
    ramp = np.clip(np.arange(epochs) / 5, 0, 1)[:, None]
    target = rng.uniform(0.8, 0.97, size=num_samples)[None, :]
    prob = 0.3 + ramp * (target - 0.3) + rng.normal(0, 0.002, size=(epochs, num_samples))
    return np.clip(prob, 0.01, 0.99)


def test_a_run_that_learned_and_converged_is_healthy():
    labels_train = np.arange(400) % 2
    labels_val = np.arange(200) % 2
    dynamics = {"train": binary_dynamics(learned_then_converged(400), labels_train, split="train"),
                "val": binary_dynamics(learned_then_converged(200, seed=1), labels_val, split="val")}
    diagnosis = diagnose(dynamics)
    assert diagnosis.healthy, diagnosis.to_text()
    assert diagnosis.headline.startswith("No problem found")


def test_accuracy_flat_while_right_samples_grow_confident_is_confidence_refinement():
    epochs, n = 30, 300
    labels = np.arange(n) % 2
    rng = np.random.default_rng(0)
    # 80% of samples right from the start and growing more confident; 20% wrong and staying wrong.
    right = rng.random(n) < 0.8
    growth = np.linspace(0.6, 0.95, epochs)[:, None]
    prob = np.where(right[None, :], growth + rng.normal(0, 0.01, (epochs, n)), 0.3)
    prob = np.clip(prob, 0.51 * right + 0.01, 0.99)
    dynamics = {"train": binary_dynamics(prob, labels, split="train"),
                "val": binary_dynamics(prob, labels, split="val")}
    diagnosis = diagnose(dynamics)
    assert diagnosis.causes[0] == "confidence_refinement", diagnosis.to_text()
    ledger = diagnosis.ledger
    assert {g["name"]: g["count"] for g in ledger["groups"]}["became_correct"] == 0
    assert "already right" in diagnosis.verdicts[0].summary


def test_a_non_finite_loss_is_unstable_optimization_with_full_confidence():
    labels = np.arange(100) % 2
    prob = learned_then_converged(100)
    dynamics = {"train": binary_dynamics(prob, labels, split="train"), "val": binary_dynamics(prob, labels)}
    train_loss = -np.log(prob).mean(axis=1)
    train_loss[12] = np.inf
    diagnosis = diagnose(dynamics, metrics={"train_loss": train_loss})
    verdict = diagnosis.verdict("unstable_optimization")
    assert verdict.confidence == 1.0 and "13" in verdict.summary
    assert diagnosis.causes[0] == "unstable_optimization"


def test_one_epoch_is_diagnosed_with_what_it_cannot_show():
    labels = np.arange(50) % 2
    prob = np.full((1, 50), 0.7)
    diagnosis = diagnose({"train": binary_dynamics(prob, labels, split="train"), "val": binary_dynamics(prob, labels)})
    assert any("one epoch only" in note for note in diagnosis.limitations)
    assert diagnosis.verdict("overfitting").confidence == 0.0
    assert diagnosis.verdict("underfitting").confidence == 0.0


def test_all_wrong_is_no_signal_and_all_correct_is_not():
    labels = np.arange(200) % 2
    wrong = np.full((10, 200), 0.2)
    diagnosis = diagnose({"train": binary_dynamics(wrong, labels, split="train"), "val": binary_dynamics(wrong, labels)})
    assert diagnosis.causes[0] == "no_signal"
    right = np.full((10, 200), 0.9)
    diagnosis = diagnose({"train": binary_dynamics(right, labels, split="train"), "val": binary_dynamics(right, labels)})
    assert "no_signal" not in diagnosis.causes


def test_ties_in_argmax_and_a_class_absent_from_val_are_handled():
    epochs = 6
    train_labels = np.arange(90) % 3
    val_labels = np.arange(40) % 2            # class 2 never appears in val
    train_logits = np.zeros((epochs, 90, 3))   # every prediction a three-way tie -> class 0
    val_logits = np.zeros((epochs, 40, 3))
    dynamics = {"train": dynamics_from_logits(train_logits, train_labels, split="train", keep_logits=False),
                "val": dynamics_from_logits(val_logits, val_labels, split="val")}
    diagnosis = diagnose(dynamics)
    assert diagnosis.per_class["recall"][2] is None
    assert diagnosis.per_class["predicted_share"][0] == 1.0
    assert diagnosis.causes[0] == "no_signal"


def test_remedies_quote_the_runs_own_settings():
    epochs, n = 40, 200
    labels = np.arange(n) % 2
    epochs_axis = np.arange(epochs)[:, None]
    train_prob = np.clip(0.5 + 0.012 * epochs_axis + np.zeros((1, n)), 0, 0.99)
    # Val gets better until epoch 10, then worse: overfitting with onset 10.
    val_prob = np.clip(0.75 - 0.02 * np.abs(epochs_axis - 9) + np.zeros((1, n)), 0.05, 0.99)
    val_prob[:, ::4] = 0.4                      # a quarter of val always wrong, so accuracy is not trivial
    config = {"model": {"dropout": 0.1, "hidden_size": 64, "num_layers": 2}, "optimizer": {"lr": 0.01,
              "weight_decay": 0.0}, "epochs": 40}
    diagnosis = diagnose({"train": binary_dynamics(train_prob, labels, split="train"),
                          "val": binary_dynamics(val_prob, labels)}, config=config)
    verdict = diagnosis.verdict("overfitting")
    assert diagnosis.overfitting["onset_epoch"] == 10, diagnosis.overfitting
    actions = {remedy.name: remedy for remedy in verdict.remedies}
    assert "stop at epoch 10" in actions["early_stopping"].action
    assert actions["dropout"].changes == {"model.dropout": 0.3}
    assert actions["smaller_hidden"].changes == {"model.hidden_size": 32}
    assert actions["fewer_layers"].changes == {"model.num_layers": 1}


def test_a_majority_only_model_on_90_5_5_data_is_class_imbalance_bias():
    epochs = 12
    train_labels = np.repeat([0, 1, 2], [900, 50, 50])
    val_labels = np.repeat([0, 1, 2], [180, 10, 10])

    def majority_logits(n):
        logits = np.zeros((epochs, n, 3))
        logits[:, :, 0] = np.linspace(1.0, 3.0, epochs)[:, None]   # ever more sure of the frequent class
        return logits

    dynamics = {"train": dynamics_from_logits(majority_logits(1000), train_labels, split="train", keep_logits=False),
                "val": dynamics_from_logits(majority_logits(200), val_labels, split="val")}
    diagnosis = diagnose(dynamics)
    assert diagnosis.causes[0] == "class_imbalance_bias", diagnosis.to_text()
    evidence = diagnosis.verdicts[0].evidence
    assert evidence["val_accuracy"] == 0.9 and abs(evidence["val_balanced_accuracy"] - 1 / 3) < 1e-9
    assert evidence["rare_classes"] == [1, 2]


def test_samples_memorised_late_against_the_rest_are_label_noise():
    epochs, n = 40, 500
    rng = np.random.default_rng(3)
    labels = np.arange(n) % 2
    flipped = rng.random(n) < 0.2
    t = np.arange(epochs)[:, None] / (epochs - 1)
    # Clean samples are learned early; flipped ones stay wrong, then are memorised in the last third.
    train_prob = np.where(flipped[None, :], 0.15 + 0.8 * np.clip((t - 0.65) / 0.3, 0, 1), 0.5 + 0.45 * np.sqrt(t))
    train_prob = np.clip(train_prob + rng.normal(0, 0.01, (epochs, n)), 0.01, 0.99)
    # Val accuracy peaks and then declines as the noise is memorised.
    val_labels = np.arange(300) % 2
    quality = 0.9 - 0.15 * np.clip((t - 0.65) / 0.3, 0, 1)
    val_right = rng.random((1, 300)) < 0.85
    val_prob = np.where(val_right, 0.55 + 0.3 * quality, 0.45 - 0.3 * (1 - quality))
    val_prob[-8:, :40] = 0.3                                  # 40 val samples lost to memorisation
    diagnosis = diagnose({"train": binary_dynamics(train_prob, labels, split="train"),
                          "val": binary_dynamics(val_prob, val_labels)})
    assert "label_noise" in diagnosis.causes, diagnosis.to_text()
    suspects = set(diagnosis.suspected_mislabeled)
    truly = set(np.flatnonzero(flipped).tolist())
    assert len(suspects & truly) / len(suspects) > 0.9 and len(suspects & truly) / len(truly) > 0.9


def test_losses_still_falling_with_accuracy_still_rising_is_underfitting():
    epochs, n = 20, 400
    labels = np.arange(n) % 2
    rng = np.random.default_rng(4)
    # Each sample crosses 0.5 at its own late epoch; nothing has levelled off by the end.
    crossing = rng.uniform(0, 25, n)
    prob = 0.5 + 0.4 * np.tanh((np.arange(epochs)[:, None] - crossing[None, :]) / 20)
    diagnosis = diagnose({"train": binary_dynamics(prob, labels, split="train"),
                          "val": binary_dynamics(prob, labels)})
    assert diagnosis.causes[0] == "underfitting", diagnosis.to_text()
    assert any(remedy.name == "more_epochs" for remedy in diagnosis.verdicts[0].remedies)
