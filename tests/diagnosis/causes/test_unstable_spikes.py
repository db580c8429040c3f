"""unstable_optimization from spikes: a fitted model thrown back, a spike whose damage the delivered model carries, and
large spikes the run outgrew (a collapse to a constant guess is tested in test_unstable_collapse.py)."""

import numpy as np

from fixtures.diagnosis import diagnose_dynamics, learned_then_converged
from fixtures.dynamics import binary_dynamics


def collapse_run(epochs=30, n=400):
    """Two classes fitted to 0.97 by epoch 8; at epoch 24 every sample is thrown to 0.1 (train loss 2.3, above
    log 2), and by the last epoch the model has climbed back only to 0.7."""
    labels = np.arange(n) % 2
    prob = learned_then_converged(n, epochs=epochs)
    prob[:, :] = np.where(np.arange(epochs)[:, None] >= 8, 0.97, prob)
    prob[23] = 0.1
    prob[24:] = np.linspace(0.3, 0.7, epochs - 24)[:, None]
    return {"train": binary_dynamics(prob, labels, split="train"), "val": binary_dynamics(prob[:, :200], labels[:200])}


def test_a_fitted_model_thrown_back_past_a_constant_guess_is_unstable_unless_a_restored_best_epoch_is_delivered():
    # Such a spike counts whatever the best fit (memorising never throws a fitted model back past its start),
    # when what the run delivers is the collapsed trajectory (no early stopping: its last epoch).
    delivered_last = diagnose_dynamics(collapse_run(), summary={"best_epoch": 20, "delivered_epoch": 30})
    assert delivered_last.causes[0] == "unstable_optimization", delivered_last.to_text()
    assert delivered_last.verdict("unstable_optimization").evidence["signals"]["spikes"] > 0.5
    # Early stopping restored epoch 20: the delivered model never saw the collapse.
    restored = diagnose_dynamics(collapse_run(), summary={"best_epoch": 20, "delivered_epoch": 20})
    assert restored.verdict("unstable_optimization").evidence["signals"]["spikes"] == 0.0


def knocked_back_run(recovered: bool, epochs=30, n=400):
    """Two classes fitted to 0.97 by epoch 8; at epoch 27 a spike throws a quarter of the samples to the wrong side
    (0.3) and the rest to 0.8 (train loss 0.47, still below a constant guess's 0.69); by the last epoch the rest
    are back at 0.9 and the quarter at 0.4, still wrong (``recovered``: everything back at 0.97)."""
    labels = np.arange(n) % 2
    prob = learned_then_converged(n, epochs=epochs)
    prob[:, :] = np.where(np.arange(epochs)[:, None] >= 8, 0.97, prob)
    hit = np.arange(n) % 4 == 0
    prob[26] = np.where(hit, 0.3, 0.8)
    prob[27:] = 0.97 if recovered else np.where(hit, 0.4, 0.9)
    return {"train": binary_dynamics(prob, labels, split="train"), "val": binary_dynamics(prob[:, :200], labels[:200])}


def test_a_fitted_model_a_spike_knocked_back_is_unstable_when_the_run_delivers_the_damage():
    # A fitted model's spikes count for nothing while it fits (memorising bounces too), but a model delivered
    # still damaged by one is (an SGD JapaneseVowels run at lr 2, val accuracy 0.944 -> 0.857 after a spike two
    # epochs before its end, had read "No problem found" 0.70).
    damaged = diagnose_dynamics(knocked_back_run(recovered=False), summary={"best_epoch": 26, "delivered_epoch": 30})
    verdict = damaged.verdict("unstable_optimization")
    assert damaged.causes[0] == "unstable_optimization" and verdict.evidence["signals"]["unrecovered"] > 0.7, \
        damaged.to_text()
    assert verdict.evidence["signals"]["spikes"] == 0.0 and verdict.evidence["signals"]["collapse"] == 0.0
    assert "a spike at epoch 27 threw the train loss from 0.030 (its lowest before) to 0.468" in verdict.summary
    assert "its val accuracy is 0.750, against 1.000 before the spike" in verdict.summary
    assert [remedy.name for remedy in verdict.remedies][-1] == "early_stopping"
    # Won back by the end, or early stopping delivered the model from before the spike: nothing to name.
    recovered = diagnose_dynamics(knocked_back_run(recovered=True), summary={"best_epoch": 26, "delivered_epoch": 30})
    restored = diagnose_dynamics(knocked_back_run(recovered=False), summary={"best_epoch": 26, "delivered_epoch": 26})
    for diagnosis in (recovered, restored):
        assert diagnosis.verdict("unstable_optimization").evidence["signals"]["unrecovered"] == 0.0
        assert diagnosis.healthy, diagnosis.to_text()


def _thrown_back_early(spike_at=5, epochs=60, n=300, seed=0):
    """Two classes: the model edges up to 0.58 by epoch 4, a spike at ``spike_at`` throws every sample to 0.2,
    it sits at a coin flip for 10 epochs, then learns to 0.8-0.97 and stays there, but for the 30% of samples whose
    label the inputs do not tell (0.45): a task at its ceiling (true-class probabilities)."""
    rng = np.random.default_rng(seed)
    target = np.where(np.arange(n) % 10 < 3, 0.45, rng.uniform(0.8, 0.97, n))
    prob = np.full((epochs, n), 0.5)
    prob[1:spike_at - 1] = 0.58
    prob[spike_at - 1] = 0.2
    start = spike_at + 10
    ramp = np.clip((np.arange(epochs) - start) / 10, 0, 1)[:, None]
    prob[start:] = (0.5 + ramp * (target - 0.5))[start:]
    return np.clip(prob + rng.normal(0, 0.002, prob.shape), 0.01, 0.99)


def test_a_spike_the_run_outgrew_long_ago_cost_time_not_the_delivered_model():
    # A 4-class LSTM at Adam 0.003 thrown back to the prior's entropy at epoch 5, learning again from epoch 18 and
    # at its task's ceiling by epoch 80, had read unstable 0.59 first, over a fall in loss from refinement.
    from lossgap.analysis.optimization import Spike
    from lossgap.diagnosis.causes.unstable_spikes import outgrown_spikes
    labels = np.arange(300) % 2
    prob = _thrown_back_early()
    dynamics = {"train": binary_dynamics(prob, labels, split="train"),
                "val": binary_dynamics(np.clip(prob - 0.03, 0.01, 0.99), labels)}
    verdict = diagnose_dynamics(dynamics).verdict("unstable_optimization")
    outgrown = verdict.evidence["outgrown"]
    assert outgrown is not None and outgrown["epochs"] == [5] and outgrown["quiet_epochs"] == 55
    assert verdict.confidence < 0.5, verdict.summary
    assert "but the run outgrew the large one(s), at epoch(s) 5" in verdict.summary
    # The same spike in a run that had not yet learned most of what it knows after it is still judged in full...
    loss = np.array([0.69, 0.55, 0.52, 0.52, 1.6] + [0.69] * 10 + [0.45] * 45)
    spike = [Spike(epoch=5, split="train", size=1.6 / 0.52)]
    assert outgrown_spikes(loss, spike, delivered=60, prior_entropy=np.log(2)) is None
    # ... so is one with too few quiet epochs after it, and one after the delivered epoch.
    assert outgrown_spikes(-np.log(prob.mean(axis=1)), spike, delivered=9, prior_entropy=np.log(2)) is None
    assert outgrown_spikes(-np.log(prob.mean(axis=1)), [Spike(epoch=50, split="train", size=3.0)], delivered=40,
                           prior_entropy=np.log(2)) is None
    # A fitted model thrown back late and never given the time to outgrow it stays unstable.
    late = learned_then_converged(300, epochs=30)
    late[[24, 25]] = 0.15
    jumpy = diagnose_dynamics({"train": binary_dynamics(late, labels, split="train"),
                               "val": binary_dynamics(np.clip(late - 0.02, 0.01, 0.99), labels)})
    assert jumpy.verdict("unstable_optimization").evidence["outgrown"] is None


def climbing_run(epochs=30, n=400, start=25):
    """Two classes fitted to 0.97 by epoch 8; from epoch ``start`` on, a quarter of the samples slide a step further
    to the wrong side every epoch through the last (0.85, 0.7, 0.55, 0.45, 0.4, 0.35) and the rest to 0.9: no single
    jump, a climb."""
    labels = np.arange(n) % 2
    prob = learned_then_converged(n, epochs=epochs)
    prob[:, :] = np.where(np.arange(epochs)[:, None] >= 8, 0.97, prob)
    hit = np.arange(n) % 4 == 0
    for step, level in enumerate((0.85, 0.7, 0.55, 0.45, 0.4, 0.35)):
        prob[start - 1 + step] = np.where(hit, level, 0.9)
    return {"train": binary_dynamics(prob, labels, split="train"), "val": binary_dynamics(prob[:, :200], labels[:200])}


def test_a_fitted_model_that_climbs_back_up_over_its_last_epochs_is_unstable():
    # Own loops at Adam 0.3 on JapaneseVowels climbed from train accuracy 0.995 to 0.917 (val 0.926 -> 0.833) over
    # their last epochs with no single spike, and read "No problem found": descent does not make a fitted model
    # worse on its own training samples.
    diagnosis = diagnose_dynamics(climbing_run(), summary={"best_epoch": 24, "delivered_epoch": 30})
    verdict = diagnosis.verdict("unstable_optimization")
    assert diagnosis.causes[0] == "unstable_optimization" and verdict.evidence["signals"]["unrecovered"] > 0.5, \
        diagnosis.to_text()
    assert "the train loss climbed from its lowest, 0.030 at epoch 24, to " in verdict.summary
    assert "its train accuracy fell from 1.000 to 0.750 and its val accuracy from 1.000 to 0.750" in verdict.summary
    assert verdict.remedies[0].name == "lower_lr" and verdict.remedies[-1].name == "early_stopping"
    # Early stopping delivered the model from before the climb; or the run's heavy weight decay pulls it back by
    # design (underfitting's case): no climb to name.
    restored = diagnose_dynamics(climbing_run(), summary={"best_epoch": 24, "delivered_epoch": 24})
    decayed = diagnose_dynamics(climbing_run(), summary={"best_epoch": 24, "delivered_epoch": 30},
                                config={"optimizer": {"name": "adamw", "lr": 0.01, "weight_decay": 10.0}})
    for other in (restored, decayed):
        assert other.verdict("unstable_optimization").evidence["unrecovered"] is None, other.to_text()


def spiky_fitted_run(epochs=30, n=400):
    """Two classes fitted to 0.97 by epoch 8; at epochs 15 and 22 every train sample is thrown to 0.6 (train loss
    0.51, 40% of its fall from the first epoch undone) and is back at 0.97 the epoch after; val never moves from 0.97."""
    labels = np.arange(n) % 2
    prob = learned_then_converged(n, epochs=epochs)
    prob[:, :] = np.where(np.arange(epochs)[:, None] >= 8, 0.97, prob)
    val = prob[:, :200].copy()
    prob[[14, 21]] = 0.6
    return {"train": binary_dynamics(prob, labels, split="train"), "val": binary_dynamics(val, labels[:200])}


def test_spikes_and_a_climb_of_a_fitted_model_count_when_its_rate_is_far_above_its_optimizers_range():
    # A fitted model's spikes count for nothing at a working rate (memorising bounces too); at Adam 0.1, ten times
    # the top of its range, they are the steps overshooting (a Lightning ItalyPowerDemand run at Adam 0.1, two spikes
    # undoing up to 70% of its progress, test 0.876 against 0.965 at 0.003, had read "No problem found").
    def optimizer(lr):
        return {"optimizer": {"name": "adam", "lr": lr}}

    working = diagnose_dynamics(spiky_fitted_run(), config=optimizer(0.003), summary={"delivered_epoch": 30})
    fast = diagnose_dynamics(spiky_fitted_run(), config=optimizer(0.1), summary={"delivered_epoch": 30})
    assert working.verdict("unstable_optimization").evidence["signals"]["spikes"] == 0.0
    assert fast.verdict("unstable_optimization").evidence["signals"]["spikes"] > 0.2, fast.to_text()
    assert fast.verdict("unstable_optimization").confidence > working.verdict("unstable_optimization").confidence
    # A climb back up the train loss whose val accuracy did not fall beyond its noise (val 0.97 throughout) is not
    # named at a working rate; at a rate that far above range the climb is the overshoot's damage.
    climb = climbing_run()
    climb["val"] = spiky_fitted_run()["val"]
    working = diagnose_dynamics(climb, config=optimizer(0.003), summary={"delivered_epoch": 30})
    fast = diagnose_dynamics(climb, config=optimizer(0.1), summary={"delivered_epoch": 30})
    assert working.verdict("unstable_optimization").evidence["unrecovered"] is None
    assert fast.verdict("unstable_optimization").evidence["signals"]["unrecovered"] > 0.5, fast.to_text()
    assert fast.causes[0] == "unstable_optimization", fast.to_text()


def val_first_run(epochs=30, n=400):
    """Two classes fitted to 0.97 by epoch 8; the val pass at the end of epoch 26 already shows a blow-up (a quarter of
    val thrown to 0.3), the epoch's training loss only at epoch 27 (a quarter of train to 0.3, the rest to 0.8); by the
    last epoch train is back at 0.9 everywhere while that quarter of val stays wrong (0.4)."""
    labels = np.arange(n) % 2
    train = learned_then_converged(n, epochs=epochs)
    train[:, :] = np.where(np.arange(epochs)[:, None] >= 8, 0.97, train)
    val = train[:, :200].copy()
    hit, val_hit = np.arange(n) % 4 == 0, np.arange(200) % 4 == 0
    train[26] = np.where(hit, 0.3, 0.8)
    train[27:] = 0.9
    val[25:] = np.where(val_hit, 0.3, 0.9)
    val[27:] = np.where(val_hit, 0.4, 0.9)
    return {"train": binary_dynamics(train, labels, split="train"), "val": binary_dynamics(val, labels[:200])}


def test_a_spike_val_showed_an_epoch_before_the_train_loss_is_measured_from_before_val_saw_it():
    # A Lightning run's val loss jumped at epoch 24 and its (running) train loss at 25; its train loss won back 91%
    # while its val accuracy stayed at 0.858 against 0.967: measured from epoch 24, the damage had not counted and the
    # run read "No problem found" 0.70.
    diagnosis = diagnose_dynamics(val_first_run(), summary={"best_epoch": 25, "delivered_epoch": 30})
    verdict = diagnosis.verdict("unstable_optimization")
    unrecovered = verdict.evidence["unrecovered"]
    assert unrecovered["val_before"] == 1.0 and unrecovered["val_delivered"] == 0.75, diagnosis.to_text()
    assert unrecovered["val_share"] == 0.5 and unrecovered["share"] < 0.25
    assert diagnosis.causes[0] == "unstable_optimization", diagnosis.to_text()
    # Every val error of the delivered model came with the spike: that, the larger share, is the one said.
    assert unrecovered["val_error_share"] == 1.0
    assert "(100% of the delivered model's val errors came with it)" in verdict.summary


def memorised_past_spike_run(epochs=40, n=400, val=400):
    """Two classes: train fitted to 0.95 by epoch 5, thrown to 0.3 at epoch 6, then memorised to 0.99 by the end;
    val right on 80% of its samples before the spike, 50% at it, and never more than 70% after it."""
    labels, val_labels = np.arange(n) % 2, np.arange(val) % 2
    train = np.empty((epochs, n))
    train[:5] = np.linspace(0.6, 0.95, 5)[:, None]
    train[5] = 0.3
    train[6:] = np.linspace(0.6, 0.99, epochs - 6)[:, None]
    share = np.r_[np.linspace(0.6, 0.8, 5), 0.5, np.full(epochs - 6, 0.7)]
    rank = (np.arange(val) * 0.618034) % 1.0  # each val sample's place, so the right ones stay right
    val_prob = np.where(rank[None, :] < share[:, None], 0.85, 0.2)
    return {"train": binary_dynamics(train, labels, split="train"), "val": binary_dynamics(val_prob, val_labels)}


def test_a_spike_at_a_rate_far_too_high_whose_val_loss_the_memorised_model_never_wins_back_is_unstable():
    # Trial 11's 20-class LSTM at Adam 0.05 with reduce-on-plateau: val 0.807 before a spike at epoch 6, never above
    # 0.752 after it while train reached 0.98, had read overfitting 0.90 ("stop at epoch 5"); Adam at 0.01 with the same
    # schedule reaches val 0.950.
    lr = np.r_[np.full(12, 0.05), np.full(28, 0.005)]
    fast = diagnose_dynamics(memorised_past_spike_run(), metrics={"lr": lr},
                             config={"epochs": 40, "optimizer": {"name": "adam", "lr": 0.05}})
    verdict = fast.verdict("unstable_optimization")
    assert fast.causes[0] == "unstable_optimization", fast.to_text()
    past = verdict.evidence["memorised_past_spike"]
    assert past["epoch"] == 6 and past["lr"] == 0.05 and past["val_before"] == 0.8
    assert abs(past["val_best_after"] - 0.7) < 0.01
    assert "a spike at epoch 6 (learning rate 0.05 there) took val accuracy from 0.800 to 0.497" in verdict.summary
    assert verdict.summary.endswith("(learning rate 0.05 at the start, 0.005 at the end)")
    assert verdict.remedies[0].name == "lower_lr"
    # At a rate in its usual range the same curves are not this form: a spike the model outgrew, then memorising.
    usual = diagnose_dynamics(memorised_past_spike_run(), metrics={"lr": lr / 10},
                              config={"epochs": 40, "optimizer": {"name": "adam", "lr": 0.005}})
    assert usual.verdict("unstable_optimization").evidence["memorised_past_spike"] is None


def test_a_spike_is_measured_against_the_fall_from_knowing_nothing_not_from_an_exploded_first_epoch():
    # Trial 24: an LSTM-FCN at AdamW 0.3 whose first epoch's loss was 440 read "the largest undoing 1% of the progress
    # made so far" of a jump from 0.46 to 2.15, past the prior's entropy.
    from types import SimpleNamespace

    from lossgap.diagnosis.causes.unstable_spikes import spike_share

    loss = np.array([440.0, 3.0, 0.6, 0.46, 2.15, 0.5])
    spike = SimpleNamespace(epoch=5)
    prior = float(np.log(2))
    assert spike_share(loss, spike) < 0.01                       # against the exploded first epoch
    assert spike_share(loss, spike, prior) == 1.5                # more than the whole fall from the prior's entropy
    # A first epoch below the prior's entropy is where the fall starts, as before.
    usual = np.array([0.6, 0.4, 0.3, 0.2, 0.35, 0.2])
    assert spike_share(usual, spike, prior) == spike_share(usual, spike) == 0.15 / 0.4


def test_an_early_stopped_model_at_its_best_val_accuracy_is_said_to_have_come_through_the_jumps():
    # Trial 25: LSTM-FCN runs at AdamW 1.0, early-stopped, tested 0.997-0.998 and read unstable 0.85-0.94 with no word
    # that the delivered model was fine.
    config = {"optimizer": {"name": "adam", "lr": 0.1}, "early_stopping": {"patience": 10}}
    stopped = diagnose_dynamics(spiky_fitted_run(), config=config, summary={"delivered_epoch": 12, "best_epoch": 12})
    verdict = stopped.verdict("unstable_optimization")
    assert "early stopping delivered epoch 12, whose val accuracy 1.000 is within its noise of the run's best" in (
        verdict.summary), verdict.summary
    kept = diagnose_dynamics(spiky_fitted_run(), config={"optimizer": {"name": "adam", "lr": 0.1}},
                             summary={"delivered_epoch": 30})
    assert "early stopping delivered" not in kept.verdict("unstable_optimization").summary


def thrown_back_while_learning(learned_prob=0.75, epochs=30, n=400, seed=0):
    """Two classes at a coin flip through epoch 24; at 25-26 two thirds of the samples are at ``learned_prob`` and
    the rest at 0.45 (train accuracy 0.67: learned, far from fitted); a spike at 27 throws everything to 0.47, at 28
    the model is at a coin flip, and at 29-30 half the samples are at 0.55 and half at 0.48 (accuracy 0.5, loss 4%
    below the prior's: not a collapse to a constant guess). Val (200 samples) moves with train."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    prob = np.full((epochs, n), 0.5)
    prob[24:26] = np.where(np.arange(n) % 3 < 2, learned_prob, 0.45)
    prob[26] = 0.47
    prob[28:] = np.where(np.arange(n) % 2 == 0, 0.55, 0.48)
    prob = np.clip(prob + rng.normal(0, 0.003, prob.shape), 0.01, 0.99)
    return {"train": binary_dynamics(prob, labels, split="train"), "val": binary_dynamics(prob[:, :200], labels[:200])}


def test_a_model_thrown_back_to_a_coin_flip_after_it_had_clearly_learned_is_unstable_though_it_never_fitted():
    # Trial 25's freq task at Adam 0.01: at the prior for 24 epochs, train accuracy 0.654 at epoch 26, thrown back
    # to the prior at 27 and delivered at 30 with val 0.475 against 0.667; read "No cause found" (unstable 0.41).
    # lr 0.003 reaches test 0.996.
    diagnosis = diagnose_dynamics(thrown_back_while_learning(), summary={"best_epoch": 26, "delivered_epoch": 30})
    verdict = diagnosis.verdict("unstable_optimization")
    assert diagnosis.causes[0] == "unstable_optimization" and verdict.confidence >= 0.8, diagnosis.to_text()
    assert verdict.evidence["unrecovered"]["epoch"] == 27 and verdict.evidence["collapse"] is None
    assert verdict.remedies[0].name == "lower_lr" and "early_stopping" in [remedy.name for remedy in verdict.remedies]
    # A model that had barely moved (loss 4% below the prior's) has its spike judged with its failure to fit.
    barely = diagnose_dynamics(thrown_back_while_learning(learned_prob=0.55),
                               summary={"best_epoch": 26, "delivered_epoch": 30})
    assert barely.verdict("unstable_optimization").evidence["unrecovered"] is None, barely.to_text()


def partly_knocked_while_learning(epochs=30, n=400, seed=0):
    """Two classes at a coin flip through epoch 24; at 25-26 80% of the samples are at 0.75 and the rest at 0.45
    (train accuracy 0.8, loss 44% below the prior's: learned, not fitted); a spike at 27 throws everything to 0.47;
    from 28 on 70% are at 0.7 and the rest at 0.45 (a third of the progress and of the val gain still lost)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    prob = np.full((epochs, n), 0.5)
    prob[24:26] = np.where(np.arange(n) % 10 < 8, 0.75, 0.45)
    prob[26] = 0.47
    prob[27:] = np.where(np.arange(n) % 10 < 7, 0.7, 0.45)
    prob = np.clip(prob + rng.normal(0, 0.003, prob.shape), 0.01, 0.99)
    return {"train": binary_dynamics(prob, labels, split="train"), "val": binary_dynamics(prob[:, :200], labels[:200])}


def test_a_partial_knock_or_heavy_regularisation_is_not_a_learning_model_thrown_back():
    # A model still learning wins a partial knock back in an epoch or two (trial 23's sum-sign task stopped at
    # epoch 8, one epoch after a spike that left 11% of its progress lost); heavy weight decay pulls a model that
    # has just learned back toward the constant guess by design (a suite run at AdamW weight decay 10).
    summary = {"best_epoch": 26, "delivered_epoch": 30}
    partial = diagnose_dynamics(partly_knocked_while_learning(), summary=summary)
    decayed = diagnose_dynamics(thrown_back_while_learning(), summary=summary,
                                config={"optimizer": {"name": "adamw", "lr": 0.005, "weight_decay": 10.0}})
    for diagnosis in (partial, decayed):
        assert diagnosis.verdict("unstable_optimization").evidence["unrecovered"] is None, diagnosis.to_text()


def test_a_val_accuracy_thrown_below_the_majority_share_is_said_to_have_lost_all_its_gain():
    from lossgap.diagnosis.causes.unstable_spikes import unrecovered_val_words
    assert unrecovered_val_words({"share": 0.28, "val_share": 39.0}, 0.839) == \
        " (the majority share is 0.839: all of its gain over it lost)"
    assert unrecovered_val_words({"share": 0.1, "val_share": 0.4}, 0.5) == " (40% of its gain over the majority share lost)"
    assert unrecovered_val_words({"share": 0.5, "val_share": 0.4}, 0.5) == ""


def test_a_last_epoch_spike_that_adds_most_of_a_fitted_models_val_errors_is_damage_the_run_delivers():
    # Trial 27: a GRU at val 0.950 thrown to 0.889 in its last epoch (9% of its gain over the majority share, but over
    # half of its val errors; the train loss gave back 9% of its progress) had read "No problem found" 0.63.
    labels = np.arange(400) % 2
    prob = learned_then_converged(400, epochs=30)
    prob[:, :] = np.where(np.arange(30)[:, None] >= 8, 0.97, prob)
    prob[29] = np.where(np.arange(400) % 20 == 0, 0.45, 0.97)
    dynamics = {"train": binary_dynamics(prob, labels, split="train"), "val": binary_dynamics(prob[:, :200], labels[:200])}
    diagnosis = diagnose_dynamics(dynamics, summary={"best_epoch": 29, "delivered_epoch": 30})
    verdict = diagnosis.verdict("unstable_optimization")
    assert diagnosis.causes[:1] == ["unstable_optimization"] and verdict.confidence >= 0.6, diagnosis.to_text()
    unrecovered = verdict.evidence["unrecovered"]
    assert unrecovered["share"] < 0.1 and unrecovered["val_error_share"] == 1.0
    assert "(100% of the delivered model's val errors came with it)" in verdict.summary
    assert [remedy.name for remedy in verdict.remedies][-1] == "early_stopping"
