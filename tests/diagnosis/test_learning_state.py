"""Where a run's learning stood when it ended: batch norm's lag hiding a descent the training pass shows, wrong
training answers still moving toward their class."""

import numpy as np

from fixtures.diagnosis import diagnose_dynamics
from fixtures.underfitting import lagged_descent_run, unfitted_descent_run

FCN = {"model": {"kind": "lstm-fcn", "hidden_size": 16}, "optimizer": {"name": "adam", "lr": 0.003}, "epochs": 40,
       "early_stopping": {"patience": 10, "monitor": "val_loss"}}


def test_a_descent_batch_norm_hides_from_the_evaluated_figures_is_still_learning_not_no_signal():
    # An ArrowHead LSTM-FCN early-stopped at epoch 24, its training-pass loss down from 1.10 to 0.65 while the
    # evaluated train loss sat at 1.00 and val accuracy at chance, had read no_signal 0.50 with a permuted-label
    # control; the printed --ema 0 command took val accuracy from 0.333 to 0.833 and test from 0.286 to 0.549.
    dynamics, running = lagged_descent_run()
    diagnosis = diagnose_dynamics(dynamics, metrics={"train_loss_running": running}, config=FCN)
    assert diagnosis.evidence.lagged_learning
    assert diagnosis.causes[0] == "underfitting", diagnosis.to_text()
    verdict = diagnosis.verdict("underfitting")
    assert verdict.evidence["form"] == "stopped_early" and verdict.evidence["lagged_learning"]
    assert "its training pass's own loss was still falling when training ended (0.690 at epoch 1, 0.400 at epoch 24)" \
        in verdict.summary
    assert [remedy.name for remedy in verdict.remedies][:2] == ["recompute_batch_norm", "more_epochs"]
    no_signal = diagnosis.verdict("no_signal")
    assert no_signal.confidence <= 0.3 and no_signal.evidence["lagged_learning"], no_signal.summary


def test_no_lag_without_batch_norm_or_without_a_gap_or_once_the_training_pass_levels_off():
    dynamics, running = lagged_descent_run()
    lstm = {**FCN, "model": {"kind": "lstm", "hidden_size": 16}}
    assert not diagnose_dynamics(dynamics, metrics={"train_loss_running": running}, config=lstm).evidence.lagged_learning
    # The evaluated model as low as the training pass: the figures show what the weights learned.
    assert not diagnose_dynamics(dynamics, metrics={"train_loss_running": running + 0.25},
                                 config=FCN).evidence.lagged_learning
    flat = running.copy()
    flat[12:] = 0.40
    assert not diagnose_dynamics(dynamics, metrics={"train_loss_running": flat}, config=FCN).evidence.lagged_learning


def test_an_average_of_the_weights_over_more_epochs_than_the_run_lags_whether_or_not_they_still_descend():
    # --ema 0.99 (about 100 epochs) over a 30-epoch JapaneseVowels LSTM: training-pass loss 0.003, the average's train
    # loss 1.674 and val 0.778; it read "stopped too early" with "train longer" only (60 epochs: val 0.926, still
    # "still improving"); the offered --ema 0.9 reached val 0.963.
    dynamics, running = lagged_descent_run()
    flat = running.copy()
    flat[12:] = 0.40                    # the weights have levelled off: the average still lags them
    lstm = {**FCN, "model": {"kind": "lstm", "hidden_size": 16}, "optimizer": {"name": "adam", "lr": 0.003,
                                                                               "ema": 0.99}}
    diagnosis = diagnose_dynamics(dynamics, metrics={"train_loss_running": flat}, config=lstm)
    assert diagnosis.evidence.lagged_learning
    verdict = diagnosis.verdict("underfitting")
    assert "the average of its weights over about the last 100 epochs (--ema 0.99), more than the run's 24" \
        in verdict.summary, verdict.summary
    assert verdict.remedies[0].name == "shorter_average" and verdict.remedies[0].changes == {"optimizer.ema": 0.9}
    # Averaging over about 10 epochs already: the live weights are offered instead.
    short = {**lstm, "optimizer": {"name": "adam", "lr": 0.003, "ema": 0.9}}
    remedy = diagnose_dynamics(dynamics, metrics={"train_loss_running": flat}, config=short).verdict(
        "underfitting").remedies[0]
    assert remedy.name == "shorter_average" and remedy.changes == {"optimizer.ema": 0.0}
    # No gap between the average and the training pass: no lag.
    assert not diagnose_dynamics(dynamics, metrics={"train_loss_running": flat + 0.6},
                                 config=lstm).evidence.lagged_learning


def test_an_average_that_lags_is_the_headline_title_not_still_improving():
    dynamics, running = lagged_descent_run()
    flat = running.copy()
    flat[12:] = 0.40
    lstm = {**FCN, "model": {"kind": "lstm", "hidden_size": 16}, "optimizer": {"name": "adam", "lr": 0.003,
                                                                               "ema": 0.99}}
    diagnosis = diagnose_dynamics(dynamics, metrics={"train_loss_running": flat}, config=lstm)
    assert ("Main cause: underfitting (0.80) - the average of its weights it evaluates and delivers (--ema) lags what "
            "the model learned.") in diagnosis.headline, diagnosis.headline


def test_a_lag_under_a_delivered_model_already_all_right_on_train_and_val_is_not_underfitting():
    # Trial 21: an LSTM-FCN on GunPoint delivered val and train 1.000 (test 0.980) and read "still improving" 0.66
    # with --ema 0 first, whose run delivered test 0.980 again: nothing was left to learn but sureness.
    import numpy as np

    from fixtures.dynamics import binary_dynamics

    rng = np.random.default_rng(1)
    epochs, train, val = 24, 300, 60
    level = 0.58 + np.linspace(0.0, 0.02, epochs) + rng.normal(0, 0.003, epochs)
    train_prob = level[:, None] + rng.uniform(-0.05, 0.05, train)[None, :]
    val_prob = level[:, None] + rng.uniform(-0.05, 0.05, val)[None, :]
    dynamics = {"train": binary_dynamics(train_prob, np.arange(train) % 2, split="train"),
                "val": binary_dynamics(val_prob, np.arange(val) % 2)}
    diagnosis = diagnose_dynamics(dynamics, metrics={"train_loss_running": np.linspace(0.69, 0.30, epochs)},
                                  config=FCN)
    assert diagnosis.evidence.lagged_learning
    verdict = diagnosis.verdict("underfitting")
    assert verdict.confidence == 0.0 and verdict.evidence["delivered_at_ceiling"], diagnosis.to_text()
    assert "already gets val 1.000 and train 1.000 right" in verdict.summary
    assert "underfitting" not in diagnosis.causes


def _recovered_then_new_lows(last_val_low=True, epochs=20, n=600, seed=0):
    """Two classes learned slowly (a share of the samples crossing to right each epoch, about 0.8 right by the end);
    a spike at epoch 14 throws every sample back by 0.25, still 0.2 back through epoch 18; epochs 19-20 are new lows of the
    train loss, and of the val loss unless ``last_val_low`` is False (val's last epoch then back a little)."""
    import numpy as np

    from fixtures.dynamics import binary_dynamics

    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    crosses = rng.uniform(0, 22, n)                 # the epoch each sample crosses to right
    epoch = np.arange(epochs)[:, None]
    prob = 0.3 + 0.6 / (1 + np.exp(-(epoch - crosses[None, :]))) + 0.004 * epoch
    prob[13] -= 0.25
    prob[14:18] -= 0.2
    prob = np.clip(prob + rng.normal(0, 0.003, prob.shape), 0.01, 0.99)
    val = prob[:, :300].copy()
    if not last_val_low:
        val[-1] -= 0.1
    return {"train": binary_dynamics(prob, labels, split="train"), "val": binary_dynamics(val, labels[:300])}


def test_a_run_that_ended_on_new_lows_of_both_losses_after_a_spike_in_its_tail_is_still_learning():
    # Trial 26: 20 epochs, a spike at 14 recovered by 19, new lows of both losses at 19 and 20, accuracy rising: the
    # recovery left too few epochs for a slope, and it read "No problem found" 0.51 (60 epochs: test 0.920 -> 0.988).
    # A fitted model's train loss keeps setting new lows as it memorises: without a new val low at the end it is not
    # "still learning" (trial 22's healthy weighted GRU, val lowest the epoch before its last, stays "No problem").
    from lossgap.diagnosis import gather_evidence

    config = {"optimizer": {"name": "adam", "lr": 0.003}, "epochs": 20}
    learning = gather_evidence({}, _recovered_then_new_lows(), train_config=config)
    assert learning.still_learning
    assert learning.optimization.train_new_low_share >= 0.75 and not learning.optimization.train_still_falling
    settled = gather_evidence({}, _recovered_then_new_lows(last_val_low=False), train_config=config)
    assert not settled.still_learning


def test_new_lows_too_slow_for_more_epochs_to_use_are_convergence_at_a_usual_rate_not_early_learning():
    # Trial 28: a GRU of 2 units on random labels at AdamW 0.0011, its train loss 0.5% below the prior's entropy after
    # 67 epochs and its val loss falling 0.014% per epoch (0.9% over another 67), read underfitting 0.97 "still early
    # in learning" with "train longer" among its remedies; it now reads "did not fit even its training set" 0.80.
    from dataclasses import replace

    from fixtures.underfitting import slow_creep_run
    from lossgap.diagnosis.learning_state import EARLY_DOUBLING_GAIN, SHORT_RUN, early_learning

    def diagnosis(epochs, lr, name="adamw"):
        config = {"model": {"hidden_size": 2, "dropout": 0.0}, "epochs": epochs,
                  "optimizer": {"name": name, "lr": lr, "weight_decay": 0.0}}
        return diagnose_dynamics(slow_creep_run(epochs=epochs, train_step=0.00002, val_step=0.00005), config=config)

    converged = diagnosis(67, 0.0011)
    evidence = converged.evidence
    pace = -evidence.optimization.val_slope_end
    assert evidence.optimization.val_new_low_share >= 0.75 and 0 < pace * 67 < EARLY_DOUBLING_GAIN
    assert not evidence.early_learning
    verdict = converged.verdict("underfitting")
    assert verdict.evidence["form"] in ("no_fit", "capacity") and verdict.confidence <= 0.8, converged.to_text()
    assert "more_epochs" not in [remedy.name for remedy in verdict.remedies][:1]
    assert "whether the labels carry signal cannot be told until the model fits them" in verdict.summary
    # The same pace in a run too short to have shown a level, or at a rate below its optimizer's range, is early.
    assert diagnosis(SHORT_RUN - 2, 0.0011).evidence.early_learning
    assert diagnosis(67, 0.0005, "sgd").evidence.early_learning
    # Where the optimizer's range is unknown, or the tail's pace could not be measured, nothing rules it out.
    assert diagnosis(67, 0.0011, "adadelta").evidence.early_learning
    unmeasured = replace(evidence, optimization=replace(evidence.optimization, val_slope_end=float("nan")))
    assert early_learning(unmeasured, 0.1) and not early_learning(evidence, 0.1)
    # And a pace that as many epochs again turns into a real gain is early at any rate.
    faster = slow_creep_run(epochs=67, train_step=0.00002, val_step=0.0005)
    assert diagnose_dynamics(faster, config={"epochs": 67, "optimizer": {"name": "adamw", "lr": 0.0011}}
                             ).evidence.early_learning


def test_an_underfitting_run_of_few_optimizer_steps_says_how_few():
    # Trial 28's random configurations that learned nothing had taken 6-80 steps (a batch of 128 over ArrowHead's 30
    # training series for 6 epochs: 6), which their verdicts never said.
    from fixtures.underfitting import slow_creep_run
    from lossgap.diagnosis.learning_state import FEW_STEPS

    def verdict(batch_size, **where):
        config = {"model": {"hidden_size": 2, "dropout": 0.0}, "epochs": 12, "batch_size": batch_size,
                  "optimizer": {"name": "adam", "lr": 0.001, "weight_decay": 0.0}}
        run = slow_creep_run(epochs=12, train=40, train_step=0.00002, val_step=0.00005)
        return diagnose_dynamics(run, **({"config": config} | where)).verdict("underfitting")

    few = verdict(16)
    assert few.confidence >= 0.5 and few.evidence["few_steps"] == {"steps": 36, "per_epoch": 3, "batch_size": 16,
                                                                   "train_samples": 40}
    assert ("it took only 36 optimizer steps in all (3 per epoch: batches of 16 over 40 training samples)"
            in few.summary)
    # One sample a batch: 480 steps, not few; an own loop's batch size is unknown, so nothing is said.
    one = verdict(1)
    assert 40 * 12 >= FEW_STEPS and one.confidence >= 0.5 and "few_steps" not in one.evidence
    own = verdict(16, config=None, settings={"optimizer": {"name": "adam", "lr": 0.001}})
    assert own.confidence >= 0.5 and "few_steps" not in own.evidence and "optimizer steps" not in own.summary


def test_a_short_run_is_still_descending_while_its_losses_fall_smoothly_whatever_its_accuracy_shows():
    # Trial 30: plain LSTMs on PickupGestureWiimoteZ (10 val samples) at Adam 0.052 and AdamW 0.32, their losses falling
    # in every one of 5-6 epochs while accuracy stayed within its noise, read unstable_optimization 1.00 from their step
    # sizes; a tenth of the rate reached 0.10-0.16, an LSTM-FCN 0.75.
    from fixtures.dynamics import binary_dynamics
    from lossgap.diagnosis.learning_state import SHORT_RUN, SMOOTH_REVERSAL, short_and_learning

    def evidence(epochs, climb_at=None, val_pace=None):
        rng = np.random.default_rng(3)
        n = 40
        labels = np.arange(n) % 2
        pace = np.linspace(0.5, 0.52, epochs)
        if climb_at is not None:
            pace[climb_at] -= 0.04
        spread = rng.uniform(-0.35, 0.35, n)
        prob = np.clip(pace[:, None] + spread[None, :], 0.02, 0.98)
        val_prob = prob if val_pace is None else np.clip(np.asarray(val_pace)[:, None] + spread[None, :], 0.02, 0.98)
        dynamics = {"train": binary_dynamics(prob, labels, split="train"), "val": binary_dynamics(val_prob, labels)}
        return diagnose_dynamics(dynamics, config={"epochs": epochs, "optimizer": {"name": "adam", "lr": 0.05}}).evidence

    smooth = evidence(6)
    assert not smooth.accuracy_trend[0] and short_and_learning(smooth)
    # A train loss that climbed back by more than SMOOTH_REVERSAL of the prior's entropy is not a smooth descent ...
    bumpy = evidence(6, climb_at=3)
    assert bumpy.stability_loss[3].reversal >= SMOOTH_REVERSAL and not short_and_learning(bumpy)
    # ... nor one whose val loss turned up after an early low ...
    turned = evidence(6, val_pace=[0.50, 0.56, 0.55, 0.54, 0.53, 0.52])
    assert turned.curves.val_loss[-1] < turned.curves.val_loss[0] and not turned.val_low_is_recent
    assert not short_and_learning(turned)
    # ... and a run of SHORT_RUN epochs or more has shown where its steps lead.
    assert not short_and_learning(evidence(SHORT_RUN))


def test_a_training_set_counts_as_fitted_within_its_share_or_one_sample_not_within_its_noise():
    # Two noise units are 4 samples at least: 40 training samples at 0.900 had counted as "training set fitted".
    from fixtures.dynamics import binary_dynamics
    from lossgap.diagnosis.learning_state import train_fitted

    def evidence(wrong, n=40):
        prob = np.full((3, n), 0.9)
        prob[:, :wrong] = 0.2
        dynamics = {"train": binary_dynamics(prob, np.arange(n) % 2, split="train"),
                    "val": binary_dynamics(prob, np.arange(n) % 2)}
        return diagnose_dynamics(dynamics).evidence

    assert not train_fitted(evidence(4), 2, 0.01, noise_units=0) and train_fitted(evidence(4), 2)
    assert train_fitted(evidence(1), 2, 0.01, noise_units=0) and train_fitted(evidence(0), 2, 0.01, noise_units=0)


def test_a_lag_only_after_a_delivered_fitted_model_is_not_still_learning():
    # Trial 30: an LSTM-FCN that restored epoch 28 (train 1.000, val 0.970, its evaluated loss no higher than its
    # training pass's there) and whose evaluated loss jumped only in later epochs read underfitting 0.80 "the model was
    # still learning" with --ema 0 first, which took balanced test 0.963 -> 0.919; the run was above its reference.
    from fixtures.dynamics import binary_dynamics

    rng = np.random.default_rng(2)
    epochs, train, val = 24, 300, 60
    train_prob = np.clip(0.95 + rng.uniform(-0.03, 0.03, (epochs, train)), 0.01, 0.99)
    train_prob[20:] -= 0.25   # evaluated with lagging batch-norm statistics in the last epochs only
    val_prob = np.clip(0.9 + rng.uniform(-0.05, 0.05, (epochs, val)), 0.01, 0.99)
    val_prob[:, :4] = 0.3     # four val samples wrong throughout: val 0.933, not at its ceiling
    val_prob[20:] -= 0.2
    dynamics = {"train": binary_dynamics(train_prob, np.arange(train) % 2, split="train"),
                "val": binary_dynamics(val_prob, np.arange(val) % 2)}
    running = np.linspace(0.10, 0.02, epochs)

    def verdict(delivered):
        summary = {"best_epoch": delivered, "delivered_epoch": delivered, "restored_best": delivered < epochs,
                   "epochs_run": epochs}
        diagnosis = diagnose_dynamics(dynamics, metrics={"train_loss_running": running}, config=FCN, summary=summary)
        assert diagnosis.evidence.lagged_learning
        return diagnosis.verdict("underfitting")

    after = verdict(20)
    assert after.evidence.get("lag_after_delivered") and after.confidence == 0.0, after.summary
    assert "the model it delivers (epoch 20) already gets 1.000 of its training samples right" in after.summary
    # Delivering the lagging last epoch, the user holds the model whose figures lag: still learning, as before.
    last = verdict(epochs)
    assert not last.evidence.get("lag_after_delivered") and last.evidence.get("lagged_learning")
    assert last.confidence >= 0.5


def test_wrong_training_answers_moving_toward_their_class_are_learning_even_before_they_turn_right():
    # A 30-epoch ArrowHead LSTM-FCN, 27% of train wrong, its training-pass loss falling 2% per epoch: over the tail
    # one wrong answer turned right (12% of the fall) while six moved toward their class (50%). Counting only the
    # turned ones, it was not "still learning" and read label noise 0.52 with "stop at epoch 28" second; 60 more
    # epochs fitted all of train.
    config = {"model": {"hidden_size": 32}, "optimizer": {"name": "adam", "lr": 0.003}, "epochs": 40}
    diagnosis = diagnose_dynamics(unfitted_descent_run(turns=False), config=config)
    assert diagnosis.evidence.unfitted_descent, diagnosis.to_text()
    assert diagnosis.verdict("underfitting").evidence["form"] == "stopped_early"
