"""unstable_optimization's evidence from the recorded gradients (causes/unstable_gradients.py): updates far larger than
the weights, gradients that explode, grow or go silent, saturated gates, and step sizes in a run too short to judge."""

import numpy as np
import pytest

from fixtures.diagnosis import healthy_run
from fixtures.dynamics import binary_dynamics


def test_large_updates_of_weights_pinned_near_zero_by_adams_heavy_l2_are_not_jumping_weights():
    # Weight decay 1 with Adam: a train loss at the constant guess's and update ratios up to 0.23 in every epoch,
    # only because the L2 term keeps the weights tiny. That had read unstable_optimization 1.00 ("lower the lr").
    from dataclasses import replace
    from types import SimpleNamespace

    from fixtures.no_signal_runs import unmoved_run
    from lossgap.diagnosis import diagnose_evidence, gather_evidence

    gradients = SimpleNamespace(silenced={}, silenced_share=0.0, ungraded=(), growing=False, stalled=False,
                                weight_names=(), vanishing=False, dead_end=1.0, saturation_end=0.0, exploding_epochs=(),
                                large_update_epochs=tuple(range(1, 31)), observed=np.ones(30, dtype=bool),
                                median_update_ratio=np.full(30, 0.23))

    def verdict(weight_decay):
        config = {"optimizer": {"name": "adam", "lr": 0.01, "weight_decay": weight_decay}}
        evidence = replace(gather_evidence({}, unmoved_run(), train_config=config), gradients=gradients)
        return diagnose_evidence(evidence).verdict("unstable_optimization")

    assert verdict(1.0).confidence < 0.25
    assert verdict(0.0).confidence == 1.0  # the same updates with no decay: a learning rate far too high
    # Nor are "exploding" gradient ratios: the pinned layers' gradients vanish beside the head's (an LSTM-FCN at
    # Adam's L2 of 1 had read "gradients exploded in 44 epoch(s)", 1.00, with remedies that kept the decay).
    gradients = SimpleNamespace(**{**vars(gradients), "large_update_epochs": (), "exploding_epochs": tuple(range(5, 31))})
    assert verdict(1.0).confidence < 0.25 and "exploded" not in verdict(1.0).summary
    assert verdict(0.0).confidence == 1.0 and "gradients exploded in 26 epoch(s)" in verdict(0.0).summary


def test_weights_silenced_after_a_jump_are_a_learning_rate_too_high_not_a_model_too_small():
    # A CNN at Adam 0.3: updates of 30% of its weights in epoch 1, every weight's gradient exactly 0 after; it
    # had read "underfitting 0.80: use a larger model".
    from dataclasses import replace

    from fixtures.gradients import silenced_gradients
    from fixtures.no_signal_runs import unmoved_run
    from lossgap.diagnosis import diagnose_evidence, gather_evidence

    def diagnosis(gradients, weight_decay=0.0):
        config = {"optimizer": {"name": "adam", "lr": 0.3, "weight_decay": weight_decay}}
        evidence = replace(gather_evidence({}, unmoved_run(), train_config=config), gradients=gradients)
        return diagnose_evidence(evidence)

    jumped = diagnosis(silenced_gradients())
    verdict = jumped.verdict("unstable_optimization")
    assert jumped.causes[0] == "unstable_optimization" and verdict.confidence >= 0.85, jumped.to_text()
    assert verdict.evidence["silenced"] == {"count": 3, "epoch": 2, "jump_epoch": 1, "ratio": 0.3}
    assert "the gradients of 3 of 3 weight tensors were zero (below 1e-12) from epoch 2 on" in verdict.summary
    assert "saturated gates, or ReLUs" in verdict.summary
    assert verdict.remedies[0].name == "lower_lr"
    # The same silence without a jump before it, or under a weight decay that shrinks every weight by design,
    # is not a learning rate too high.
    assert diagnosis(silenced_gradients(jump_ratio=0.005)).verdict("unstable_optimization").evidence["silenced"] is None
    assert diagnosis(silenced_gradients(), weight_decay=10.0).verdict("unstable_optimization").evidence[
        "silenced"] is None


def test_gradients_that_grow_every_epoch_put_zero_grad_first():
    # An own loop that never called optimizer.zero_grad(): its gradient norm grew 0.67 -> 416; told to lower the
    # learning rate, it still failed at lr 5e-4 (val 0.43) where the fixed loop reached 0.92.
    from dataclasses import replace

    from fixtures.gradients import observed_gradients
    from fixtures.no_signal_runs import unmoved_run
    from lossgap.diagnosis import diagnose_evidence, gather_evidence

    epochs, names = 25, ("gru.weight_ih_l0", "gru.weight_hh_l0", "head.weight")
    total = np.geomspace(0.67, 416, epochs)
    config = {"optimizer": {"name": "adam", "lr": 0.005}}
    evidence = replace(gather_evidence({}, unmoved_run(epochs=epochs), train_config=None, settings=config),
                       gradients=observed_gradients(names, np.repeat(total[:, None] / 2, 3, axis=1), total))
    verdict = diagnose_evidence(evidence).verdict("unstable_optimization")
    assert verdict.evidence["growing_gradients"]
    assert "the total gradient norm grew from 0.67 to 416, rising almost every epoch" in verdict.summary
    assert verdict.remedies[0].name == "check_zero_grad"
    # A sum that stops growing (an Adam LSTM's gates saturated at 20x) stays high: zero_grad first too, where "lower
    # the learning rate" had come first and failed (val 0.26 at a tenth of the rate).
    held = np.r_[np.geomspace(1.0, 17, 7), np.full(epochs - 7, 20.0)]
    evidence = replace(evidence, gradients=observed_gradients(names, np.repeat(held[:, None] / 2, 3, axis=1), held))
    verdict = diagnose_evidence(evidence).verdict("unstable_optimization")
    assert verdict.remedies[0].name == "check_zero_grad"
    assert ("grew from 1 to 20, never again below 20x its first epoch's over the second half of the run"
            in verdict.summary)


def test_gradients_that_grow_in_a_loop_that_zeroes_them_are_put_down_to_the_steps_not_to_zero_grad():
    # A CLI GRU at Adam 0.05 (gradient norm 0.94 -> 124) and a Lightning fit at Adam 0.1 had been told to check
    # zero_grad() first: lossgap's trainer and Lightning's automatic optimisation zero the gradients themselves.
    from dataclasses import replace

    from fixtures.gradients import observed_gradients
    from fixtures.no_signal_runs import unmoved_run
    from lossgap.diagnosis import diagnose_evidence, gather_evidence

    epochs, names = 25, ("gru.weight_ih_l0", "gru.weight_hh_l0", "head.weight")
    total = np.geomspace(0.67, 416, epochs)
    gradients = observed_gradients(names, np.repeat(total[:, None] / 2, 3, axis=1), total)
    optimizer = {"optimizer": {"name": "adam", "lr": 0.005}}
    trainer = gather_evidence({}, unmoved_run(epochs=epochs), train_config=optimizer)
    lightning = gather_evidence({}, unmoved_run(epochs=epochs), train_config=None,
                                settings={**optimizer, "loop": {"framework_zeroes_gradients": True}})
    for evidence in (trainer, lightning):
        verdict = diagnose_evidence(replace(evidence, gradients=gradients)).verdict("unstable_optimization")
        assert verdict.evidence["growing_gradients"]
        assert "check_zero_grad" not in [remedy.name for remedy in verdict.remedies]
        assert "rising almost every epoch, though the loop zeroes them every step" in verdict.summary
        assert "never zeroed" not in verdict.summary
    # A norm that only stays far above a tiny first epoch's, up and down, is a model that left its starting plateau:
    # in a loop that zeroes its gradients it says nothing about the steps (a held-out sum-sign run, 0.21 then 3.6-9.6).
    plateau = np.r_[0.21, 0.75, 2.16, np.tile([3.8, 9.6, 3.6, 6.5], 6)][:epochs]
    left_plateau = observed_gradients(names, np.repeat(plateau[:, None] / 2, 3, axis=1), plateau)
    assert left_plateau.growing
    verdict = diagnose_evidence(replace(trainer, gradients=left_plateau)).verdict("unstable_optimization")
    assert "total gradient norm" not in verdict.summary
    assert "check_zero_grad" not in [remedy.name for remedy in verdict.remedies]


def test_gates_saturated_at_a_rate_far_above_its_range_count_whatever_the_fit():
    # Trial 11: a 20-class LSTM under a cosine schedule from Adam 0.1 ended with 59% of its gate pre-activations
    # saturated, train 0.93 and val 0.70 where cosine from 0.01-0.03 reached 0.935-0.963, and read overfitting 0.59;
    # LSTM-FCNs at Adam 0.5 (88-91% saturated, val 0.925-0.932 against 0.998 at 0.01) read "train longer" and
    # "No problem found". At a usual rate, or for a model already right on all of val, saturation alone says nothing.
    from dataclasses import replace
    from types import SimpleNamespace

    from fixtures.no_signal_runs import memorised_noise_run
    from lossgap.diagnosis import diagnose_evidence, gather_evidence

    gradients = SimpleNamespace(silenced={}, silenced_share=0.0, ungraded=(), growing=False, stalled=False,
                                weight_names=(), vanishing=False, dead_end=0.0, saturation_end=0.6, exploding_epochs=(),
                                large_update_epochs=(), observed=np.ones(30, dtype=bool),
                                median_update_ratio=np.full(30, 0.005))

    def verdict(lr, run, saturation=0.6):
        config = {"model": {"hidden_size": 32, "dropout": 0.0}, "optimizer": {"name": "adam", "lr": lr}, "epochs": 30}
        saturated = SimpleNamespace(**{**vars(gradients), "saturation_end": saturation})
        evidence = replace(gather_evidence({}, run, train_config=config), gradients=saturated)
        return diagnose_evidence(evidence).verdict("unstable_optimization")

    fast = verdict(0.1, memorised_noise_run())
    assert fast.evidence["saturated_fast"] and fast.confidence == pytest.approx(0.6 * 0.75)
    assert ("60% of the gate pre-activations ended saturated (|z| > 5), where steps far too large drive them"
            in fast.summary)
    assert fast.remedies[0].name == "lower_lr"
    assert verdict(0.1, memorised_noise_run(), saturation=0.05).confidence == 0.0
    usual = verdict(0.003, memorised_noise_run())
    assert not usual.evidence["saturated_fast"] and usual.confidence < 0.1
    assert not verdict(0.1, healthy_run()).evidence["saturated_fast"]   # val all right: nothing left to lose


def test_large_updates_in_the_first_epoch_alone_are_the_start_of_training_not_steps_too_large():
    # Trial 28: an LSTM at Adam 0.025 for 3 epochs, update ratios 0.147, 0.086 and 0.055 while its train loss fell in
    # every epoch, read unstable_optimization 1.00 "lower the learning rate" on data a reference could not learn either.
    from fixtures.gradients import observed_gradients
    from lossgap.diagnosis.causes.unstable_gradients import gradient_signals

    names = ("lstm.weight_ih_l0", "lstm.weight_hh_l0", "head.weight", "head.bias")

    def signals(ratios):
        ratio = np.asarray(ratios, dtype=np.float64)[:, None]
        return gradient_signals(observed_gradients(names, np.full((len(ratios), len(names)), 0.5), update_ratio=ratio),
                                clipped=False, unfit=1.0, decay_per_step=0.0)

    start = signals([0.147, 0.086, 0.055])
    assert start["large_update_epochs"] == [] and start["gradient_score"] == 0.0
    assert "updates were far larger" not in start["gradient_sentence"]
    # Repeated in a later epoch, or first seen after the first, they are steps that stay too large.
    assert signals([0.147, 0.12, 0.055])["large_update_epochs"] == [1, 2]
    assert signals([0.05, 0.12, 0.055])["gradient_score"] > 0.5
    # So are a first epoch's updates as large as the weights themselves, and those of a run of one epoch.
    assert signals([3.0, 0.05, 0.05])["gradient_score"] > 0.5
    assert signals([0.147])["large_update_epochs"] == [1]


def test_large_steps_in_a_short_run_still_learning_are_a_fast_start_not_weights_that_jump():
    # Trial 29: a GRU at AdamW 0.059 for 3 epochs, its train loss 1.03 -> 0.54 -> 0.41 and val loss falling with it,
    # update / weight norms up to 0.46, read unstable_optimization 1.00 "lower the learning rate"; 9 epochs at the same
    # rate reached train 1.000 and test 0.900 against 0.625, a tenth of the rate 0.650.
    from dataclasses import replace

    from lossgap.diagnosis import gather_evidence
    from fixtures.gradients import observed_gradients
    from lossgap.diagnosis import diagnose_evidence
    from lossgap.diagnosis.learning_state import SHORT_RUN

    names = ("gru.weight_ih_l0", "gru.weight_hh_l0", "head.weight", "head.bias")

    def diagnosis(epochs, lr=0.059):
        rng = np.random.default_rng(0)
        n = 200
        labels = np.arange(n) % 2
        pace = np.linspace(0.4, 0.75, epochs)[:, None]

        def prob(spread):
            return np.clip(pace + rng.uniform(-spread, spread, n)[None, :], 0.02, 0.98)

        dynamics = {"train": binary_dynamics(prob(0.3), labels, split="train"), "val": binary_dynamics(prob(0.3), labels)}
        config = {"model": {"kind": "gru", "hidden_size": 64}, "epochs": epochs, "batch_size": 8,
                  "optimizer": {"name": "adamw", "lr": lr, "weight_decay": 0.0}}
        evidence = gather_evidence({}, dynamics, train_config=config)
        gradients = observed_gradients(names, np.full((epochs, len(names)), 0.5), update_ratio=0.3)
        return diagnose_evidence(replace(evidence, gradients=gradients))

    short = diagnosis(3)
    assert short.evidence.still_learning
    unstable = short.verdict("unstable_optimization")
    assert unstable.evidence["short_and_learning"] and unstable.confidence < 0.5, short.to_text()
    assert "but the run is only 3 epochs long and its losses were still falling smoothly when it ended" in unstable.summary
    # The rate's figures stand without the claim that its steps overshoot, in the sentence and in the notes alike.
    assert "overshoot instead of descending" not in unstable.summary
    assert not any("a run at a rate within that range tells" in note for note in short.limitations)
    assert short.causes[:1] == ["underfitting"], short.to_text()
    underfitting = short.verdict("underfitting")
    assert [remedy.name for remedy in underfitting.remedies][:2] == ["more_epochs", "lower_lr"]
    assert "train longer first, and lower the rate if the longer run bounces" in underfitting.summary
    assert "higher_lr" not in [remedy.name for remedy in underfitting.remedies]
    # A run long enough to have shown a level still has its large steps at that rate count in full.
    long = diagnosis(SHORT_RUN + 2)
    assert not long.verdict("unstable_optimization").evidence["short_and_learning"]
    assert long.verdict("unstable_optimization").confidence >= 0.9
