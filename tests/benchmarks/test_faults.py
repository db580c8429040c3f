"""The suite's fault injection and rule baselines do exactly what they say (they decide the ground truth)."""

import numpy as np

from fault_suite import baselines, faults
from fixtures.training import make_splits


def data(n=200, classes=4, seed=0):
    return make_splits(num_train=n, num_val=8, classes=classes, seed=seed).train


def test_symmetric_flips_move_exactly_the_asked_share_to_another_class():
    clean = data()
    noisy, flipped = faults.flip_symmetric(clean, 0.2, np.random.default_rng(1))
    changed = clean.ids[clean.labels != noisy.labels]
    assert len(flipped) == 40 and set(changed.tolist()) == set(flipped.tolist())


def test_class_pair_flips_only_the_source_class_into_the_target():
    clean = data()
    noisy, flipped = faults.flip_class_pair(clean, 0, 2, 0.4, np.random.default_rng(2))
    changed = clean.labels != noisy.labels
    assert set(clean.labels[changed]) == {0} and set(noisy.labels[changed]) == {2}
    assert changed.sum() == round(0.4 * (clean.labels == 0).sum()) == len(flipped)


def test_shuffling_keeps_the_class_counts():
    clean = data()
    shuffled = faults.shuffle_labels(clean, np.random.default_rng(3))
    assert np.array_equal(clean.class_counts(), shuffled.class_counts())
    assert not np.array_equal(clean.labels, shuffled.labels)


def test_imbalance_leaves_the_kept_class_whole_and_the_others_near_five_percent():
    clean = data(n=900, classes=3)
    rare = faults.imbalance(clean, 0, 0.05, np.random.default_rng(4))
    counts = rare.class_counts()
    assert counts[0] == (clean.labels == 0).sum()
    assert np.allclose(counts[1:] / counts.sum(), 0.05, atol=0.01)


def test_stretch_repeats_every_step_and_scales_lengths():
    clean = make_splits(num_train=10, num_val=4, variable=True).train
    long = faults.stretch(clean, 3)
    assert np.array_equal(long.lengths, clean.lengths * 3)
    assert np.array_equal(long.features[:, ::3], clean.features)


def observations(first, last, epochs=20):
    """Hand-made optimization.csv rows: gradient norms of the first and the last weight tensor per epoch."""
    from lossgap.observations import OptimizationObservations
    rows = [{"steps": 4, "measured_steps": 4, "grad_norm_total": 1.0, "grad_norm:lstm.weight_ih_l0": a,
             "grad_norm:lstm.bias_ih_l0": 1.0, "grad_norm:head.weight": b} for a, b in zip(first, last)]
    return OptimizationObservations.from_rows(rows[:epochs])


def flat_run(epochs=20, accuracy=0.5):
    return {"train_loss": np.full(epochs, 1.0), "val_loss": np.full(epochs, 1.0),
            "train_accuracy": np.full(epochs, accuracy), "val_accuracy": np.full(epochs, accuracy)}


def test_a_split_prepared_otherwise_is_scaled_about_trains_mean_and_moved_in_its_standard_deviations():
    train, other = data(seed=0), data(seed=1)
    moved = faults.prepare_otherwise(other, train, 2.0, 1.0)
    valid = np.arange(train.max_length)[None, :] < train.lengths[:, None]
    mean, spread = train.features[valid].mean(axis=0), train.features[valid].std(axis=0)
    other_valid = np.arange(other.max_length)[None, :] < other.lengths[:, None]
    expected = mean + 2.0 * (other.features[other_valid] - mean) + spread
    assert np.allclose(moved.features[other_valid], expected, atol=1e-5)
    assert not moved.features[~other_valid].any()          # padding stays zero
    assert (moved.labels == other.labels).all() and (moved.ids == other.ids).all()


def test_autotrainer_features_follow_its_published_definitions():
    flat = flat_run()
    features = baselines.autotrainer_features(flat, observations([1.0] * 20, [1.0] * 20), 20)
    assert features.not_converge and features.sc_accuracy and not features.explode_gradient
    # The gradient ratio is the first weight tensor's norm over the last one's (the bias in between is ignored).
    assert baselines.autotrainer_features(flat, observations([71.0] + [1.0] * 19, [1.0] * 20), 20).explode_gradient
    assert not baselines.autotrainer_features(flat, observations([69.0] * 20, [1.0] * 20), 20).explode_gradient
    vanishing = observations([5e-5] * 20, [1.0] * 20)
    assert baselines.autotrainer_features(flat, vanishing, 20).vanish_gradient
    # Loss features wait for 30% of the configured epochs.
    early = baselines.autotrainer_features(flat_run(epochs=5), None, 20)
    assert not (early.not_converge or early.sc_accuracy or early.unstable_loss)
    # Zig-zag accuracy: every interior point is a local extreme, swings of 0.1 -> unstable; 0.02 -> not.
    zigzag = flat_run(accuracy=0.8)
    zigzag["train_accuracy"] = np.where(np.arange(20) % 2, 0.9, 0.8)
    assert baselines.autotrainer_features(zigzag, None, 20).unstable_loss
    zigzag["train_accuracy"] = np.where(np.arange(20) % 2, 0.82, 0.8)
    assert not baselines.autotrainer_features(zigzag, None, 20).unstable_loss
    nan_run = flat_run()
    nan_run["val_loss"][3] = np.nan
    assert baselines.autotrainer_features(nan_run, None, 20).nan


def test_autotrainer_decision_follows_its_published_logic():
    features = baselines.AutoTrainerFeatures
    off = dict(nan=False, explode_gradient=False, vanish_gradient=False, unstable_loss=False, not_converge=False,
               sc_accuracy=False)
    assert baselines.autotrainer_decision(features(**{**off, "nan": True})) == "unstable_optimization"
    # A gradient-ratio explosion only counts when the model has not converged (or converges slowly).
    assert baselines.autotrainer_decision(features(**{**off, "explode_gradient": True})) == "healthy"
    assert baselines.autotrainer_decision(
        features(**{**off, "explode_gradient": True, "not_converge": True})) == "unstable_optimization"
    assert baselines.autotrainer_decision(
        features(**{**off, "vanish_gradient": True, "sc_accuracy": True})) == "underfitting"
    # Not converged alone names nothing; slow convergence names not_converge (underfitting).
    assert baselines.autotrainer_decision(features(**{**off, "not_converge": True})) == "healthy"
    assert baselines.autotrainer_decision(features(**{**off, "sc_accuracy": True})) == "underfitting"
    # Unstable loss is only looked at when the model converged.
    assert baselines.autotrainer_decision(features(**{**off, "unstable_loss": True})) == "unstable_optimization"
    assert baselines.autotrainer_decision(
        features(**{**off, "unstable_loss": True, "not_converge": True})) == "healthy"


def test_sagemaker_rules_fire_on_their_published_thresholds():
    flat = flat_run()
    found = baselines.autotrainer_findings(baselines.autotrainer_features(flat, None, 20))
    assert {"not_converged", "slow_convergence"} <= set(found) and "explode" not in found
    sagemaker = baselines.sagemaker_findings(flat, np.array([100, 5]), np.array([0.1, 0.2]))
    assert sagemaker["ClassImbalance"] == "class_imbalance_bias" and "LossNotDecreasing" in sagemaker
    assert baselines.verdict(sagemaker, ("Overfit", "ClassImbalance")) == "class_imbalance_bias"


def test_shuffled_labels_count_as_memorised_only_when_the_last_epochs_fit_them():
    from types import SimpleNamespace

    from fault_suite.premises import premise_holds

    def run(train_accuracy):
        labels = np.arange(150) % 2
        return SimpleNamespace(metrics={"train_accuracy": np.asarray(train_accuracy)},
                               dynamics={"train": SimpleNamespace(labels=labels)})

    # One lucky epoch at 0.65 among chance-level ones is not memorisation; ending at 0.7 is.
    lucky = [0.5] * 40 + [0.65] + [0.55] * 39
    assert not premise_holds("memorised", run(lucky), None)[0]
    assert premise_holds("memorised", run([0.5] * 40 + [0.7] * 40), None)[0]


def test_a_healthy_run_counts_as_healthy_only_when_its_training_worked_and_fits_train():
    from types import SimpleNamespace

    from fault_suite.premises import premise_holds

    def run(val_accuracy, delivered, train_accuracy=None):
        labels = np.arange(200) % 4
        train = np.ones(len(val_accuracy)) if train_accuracy is None else np.asarray(train_accuracy)
        return SimpleNamespace(metrics={"val_accuracy": np.asarray(val_accuracy), "train_accuracy": train},
                               num_epochs=len(val_accuracy), summary={"delivered_epoch": delivered},
                               dynamics={"val": SimpleNamespace(labels=labels)})

    # A run that collapsed after epoch 4 and delivered its 0.55 (majority share 0.25) did not work ...
    assert not premise_holds("worked", run([0.3, 0.4, 0.5, 0.55] + [0.26] * 10, 4), None)[0]
    # ... one delivering 0.98 did, whatever its last epochs read ...
    assert premise_holds("worked", run([0.5, 0.9, 0.98] + [0.3] * 10, 3), None)[0]
    # ... unless it leaves a fifth of its own training set wrong (ArrowHead's plain LSTM: val 0.87, train 0.81).
    underfit = run([0.5, 0.8, 0.87], 3, train_accuracy=[0.5, 0.75, 0.81])
    assert premise_holds("worked", underfit, None)[0]
    verdict, sentence = premise_holds("healthy", underfit, None)
    assert not verdict and "train accuracy 0.810" in sentence
    assert premise_holds("healthy", run([0.5, 0.9, 0.98], 3), None)[0]
    # Label noise rows count only where the clean run of their seed fits its training set: otherwise two causes.
    noisy = run([0.7], 1, train_accuracy=[0.7])
    assert not premise_holds("clean_fits", noisy, underfit)[0]
    assert premise_holds("clean_fits", noisy, run([0.5, 0.9, 0.98], 3))[0]
    assert premise_holds("clean_fits", noisy, None)[1] == "no healthy reference run"


def test_an_early_stopped_little_data_run_counts_when_it_fits_train_like_the_healthy_run_but_not_val():
    from types import SimpleNamespace

    from fault_suite.premises import premise_holds

    def run(train_accuracy, val_accuracy, delivered=2):
        return SimpleNamespace(metrics={"train_accuracy": np.asarray(train_accuracy),
                                        "val_accuracy": np.asarray(val_accuracy)},
                               num_epochs=len(val_accuracy), summary={"delivered_epoch": delivered})

    healthy = run([0.9, 1.0, 1.0], [0.9, 0.97, 0.96])
    # Fits its training set as the healthy run does, 7 points short on val (the delivered epoch is read).
    assert premise_holds("generalised_worse", run([0.9, 0.98, 1.0], [0.8, 0.9, 0.97]), healthy)[0]
    # Stopped before fitting its training set: not an overfit, whatever val reads.
    assert not premise_holds("generalised_worse", run([0.6, 0.8, 1.0], [0.5, 0.7, 0.7]), healthy)[0]
    # As accurate on val as the healthy run: the fault did not take.
    assert not premise_holds("generalised_worse", run([0.9, 1.0, 1.0], [0.9, 0.95, 0.9]), healthy)[0]
    assert premise_holds("generalised_worse", run([1.0], [0.5], 1), None)[1] == "no healthy reference run"
