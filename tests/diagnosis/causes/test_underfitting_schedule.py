"""underfitting's frozen-schedule form: a learning-rate schedule that took the rate to nothing while the model was
still learning."""

import numpy as np

from fixtures.diagnosis import diagnose_dynamics
from fixtures.dynamics import binary_dynamics


def frozen_run(epochs=30, n=400, freeze=5):
    """Two classes learned until epoch ``freeze`` (three quarters of the samples rising past 0.5, a quarter still at
    0.35), then nothing moves: the weights stopped."""
    labels = np.arange(n) % 2
    rising = np.minimum(np.arange(epochs), freeze - 1)[:, None] / (freeze - 1)
    prob = np.where(np.arange(n)[None, :] % 4 == 0, 0.35, 0.45 + 0.4 * rising) * np.ones((epochs, n))
    return {"train": binary_dynamics(prob, labels, split="train"), "val": binary_dynamics(prob[:, :200], labels[:200])}


def cosine_to_zero(epochs=30, freeze=5, start=0.003):
    """A cosine schedule that reaches 0 at epoch ``freeze`` and stays there: the rate per epoch."""
    steps = np.arange(epochs)
    return np.where(steps < freeze - 1, start * 0.5 * (1 + np.cos(np.pi * steps / (freeze - 1))), 0.0)


CONFIG = {"model": {"hidden_size": 32, "dropout": 0.0}, "optimizer": {"name": "adam", "lr": 0.003}, "epochs": 30}


def test_a_schedule_that_took_the_rate_to_zero_while_the_model_learned_froze_it():
    # An own loop whose cosine schedule reached 0 at epoch 5 of 30 had been told "too small or too regularised",
    # grow 32 -> 64; with the schedule lengthened the same model reached test 0.959 against 0.827.
    diagnosis = diagnose_dynamics(frozen_run(), metrics={"lr": cosine_to_zero()}, config=CONFIG)
    verdict = diagnosis.verdicts[0]
    assert verdict.cause == "underfitting" and verdict.evidence["form"] == "frozen_schedule", diagnosis.to_text()
    assert verdict.evidence["vanished_epoch"] == 5
    assert "by epoch 5 the schedule had brought the learning rate to 0 (from 0.003)" in verdict.summary
    assert "getting 25% of its training samples wrong" in verdict.summary
    assert diagnosis.headline.endswith("the learning-rate schedule stopped the model learning before it fitted its "
                                       "training set.")
    assert verdict.remedies[0].name == "longer_schedule"
    assert "larger_hidden" not in {remedy.name for remedy in verdict.remedies}


def test_an_own_loop_that_described_a_vanished_rate_without_recording_it_reads_the_same():
    config = {**CONFIG, "optimizer": {"name": "adam", "lr": 1.6e-10}}
    verdict = diagnose_dynamics(frozen_run(), config=config).verdicts[0]
    assert verdict.evidence["form"] == "frozen_schedule" and verdict.evidence["vanished_epoch"] is None
    assert "the learning rate ended at 1.6e-10" in verdict.summary


def test_a_rate_lowered_after_the_loss_had_levelled_off_is_not_what_froze_the_model():
    # Reduce-on-plateau lowers the rate because the loss stopped falling: the level came first.
    late = np.where(np.arange(30) < 15, 0.003, 1e-6)
    diagnosis = diagnose_dynamics(frozen_run(), metrics={"lr": late}, config=CONFIG)
    assert diagnosis.verdict("underfitting").evidence.get("form") != "frozen_schedule", diagnosis.to_text()
    # Nor a rate that never vanished, nor a model that fitted before its rate did.
    steady = diagnose_dynamics(frozen_run(), metrics={"lr": np.full(30, 0.003)}, config=CONFIG)
    assert steady.verdict("underfitting").evidence.get("form") != "frozen_schedule"
    fitted = frozen_run()
    for split in ("train", "val"):
        labels = fitted[split].labels
        prob = np.clip(np.exp(fitted[split].true_log_prob.astype(np.float64)) + 0.3, 0.0, 0.95)
        fitted[split] = binary_dynamics(prob, labels, split=split)
    done = diagnose_dynamics(fitted, metrics={"lr": cosine_to_zero()}, config=CONFIG)
    assert done.verdict("underfitting").evidence.get("form") != "frozen_schedule", done.to_text()


def test_a_rate_that_small_from_the_start_froze_nothing_it_never_learned():
    # An own loop at lr 0 (and one at 1e-7) without any scheduler had read "the learning-rate schedule stopped the
    # model learning", its fix "lengthen the schedule".
    config = {**CONFIG, "optimizer": {"name": "adam", "lr": 1.6e-10}}
    rng = np.random.default_rng(0)
    still = {split: binary_dynamics(np.full((30, n), 0.5), np.arange(n) % 2, split=split)
             for split, n in (("train", 400), ("val", 200))}
    creeping = {split: binary_dynamics(0.5 + rng.normal(0, 0.002, (30, n)), np.arange(n) % 2, split=split)
                for split, n in (("train", 400), ("val", 200))}
    for run in (still, creeping):
        verdict = diagnose_dynamics(run, config=config).verdict("underfitting")
        assert verdict.evidence.get("form") != "frozen_schedule", verdict.summary


def test_a_rate_a_torch_scheduler_took_down_from_where_it_began_froze_the_model_even_at_the_prior():
    # An own GRU under StepLR(gamma 0.05 every epoch): all its learning fell inside epoch 1, the model sat at the prior,
    # and the described initial_lr (0.003, set by the scheduler) is what tells the schedule from a rate set that low.
    rng = np.random.default_rng(1)
    creeping = {split: binary_dynamics(0.5 + rng.normal(0, 0.002, (30, n)), np.arange(n) % 2, split=split)
                for split, n in (("train", 400), ("val", 200))}
    config = {**CONFIG, "optimizer": {"name": "adam", "lr": 3.7e-20, "initial_lr": 0.003}}
    verdict = diagnose_dynamics(creeping, config=config).verdict("underfitting")
    assert verdict.evidence["form"] == "frozen_schedule", verdict.summary


def test_a_schedule_that_took_a_useful_rate_to_nothing_before_the_model_learned_anything_froze_it():
    # A Lightning StepLR(10, 0.5) stepped every batch took Adam's 0.005 to 4e-5 by epoch 5 and 1e-16 by the end; the
    # model never left the prior and had been told "raise the learning rate 3e-10 -> 0.001", no word on the schedule.
    from fixtures.no_signal_runs import unmoved_run

    epochs = 25
    steplr = 0.005 * 0.25 ** np.arange(epochs)
    config = {"model": {"hidden_size": 32}, "optimizer": {"name": "adam", "lr": float(steplr[-1])}, "epochs": epochs}
    diagnosis = diagnose_dynamics(unmoved_run(epochs=epochs), metrics={"lr": steplr}, config=config)
    verdict = diagnosis.verdicts[0]
    assert verdict.evidence["form"] == "frozen_schedule", diagnosis.to_text()
    # The rate in the epoch it vanished, and where it ended.
    assert ("by epoch 5 the schedule had brought the learning rate to 1.95e-05 (from 0.005; 1.78e-17 at the end) "
            "before the model had learned anything") in verdict.summary
    assert verdict.remedies[0].name == "longer_schedule"
    # A rate that only vanished late, after the model sat at the prior for most of the run, is what a
    # reduce-on-plateau schedule does to a model stuck for another reason: not the schedule's doing.
    plateau = np.where(np.arange(epochs) < 18, 0.005, 1e-6)
    stuck = diagnose_dynamics(unmoved_run(epochs=epochs), metrics={"lr": plateau}, config=CONFIG)
    assert stuck.verdict("underfitting").evidence["form"] == "no_fit", stuck.to_text()


def test_a_schedule_that_cycles_every_few_epochs_keeps_the_model_from_fitting():
    # A Lightning run whose cosine schedule (T_max counted in epochs) was stepped every batch: its rate went to ~0
    # every 3 epochs; it read "too small, grow 32 -> 64", where the same schedule stepped per epoch reached val 0.907
    # against 0.66.
    from lossgap.diagnosis.causes.underfitting_schedule import restarts

    epochs = 30
    cycling = 0.005 * 0.5 * (1 + np.cos(2 * np.pi * np.arange(epochs) / 3))  # 0.005, 0.00125, 0.00125, 0.005, ...
    cycling[2::3] = 1e-5
    assert restarts(cycling) == list(range(4, epochs + 1, 3))
    diagnosis = diagnose_dynamics(frozen_run(freeze=25), metrics={"lr": cycling}, config=CONFIG)
    verdict = diagnosis.verdict("underfitting")
    assert verdict.evidence["form"] == "cycling_schedule" and diagnosis.causes[0] == "underfitting", diagnosis.to_text()
    assert "climbed back to its top 0.005 9 times (epochs 4, 7, 10, 13, 16, 19, ...)" in verdict.summary
    assert [remedy.name for remedy in verdict.remedies] == ["check_schedule_step"]
    # Warm restarts planned in epochs (every 10), a schedule that ends low once, or a steady rate are no such cycle.
    planned = 0.005 * 0.5 * (1 + np.cos(np.pi * (np.arange(epochs) % 10) / 10))
    assert len(restarts(planned)) == 2
    for rates in (planned, cosine_to_zero(epochs, freeze=25), np.full(epochs, 0.003)):
        kept = diagnose_dynamics(frozen_run(freeze=25), metrics={"lr": rates}, config=CONFIG)
        assert kept.verdict("underfitting").evidence.get("form") != "cycling_schedule", kept.to_text()


def test_a_training_pass_loss_that_jitters_about_a_level_since_the_rate_vanished_is_frozen_too():
    # Trial 21: a Lightning CNN with batch norm, its rate taken to 3e-9 by epoch 8 by a reduce-on-plateau watching
    # accuracy in "min" mode, its training-pass loss 1.363-1.390 ever since (batch statistics jitter), had read "No
    # problem found" 0.63; without the schedule, test 0.973 against 0.859.
    def jittered(amplitude):
        labels = np.arange(400) % 2
        rising = np.minimum(np.arange(30), 4)[:, None] / 4
        prob = np.where(np.arange(400)[None, :] % 4 == 0, 0.35, 0.45 + 0.4 * rising) * np.ones((30, 400))
        prob[5:] += amplitude * (-1.0) ** np.arange(25)[:, None]       # up and down with the batches, about a level
        return {"train": binary_dynamics(prob, labels, split="train"), "val": binary_dynamics(prob[:, :200],
                                                                                           labels[:200])}

    frozen = diagnose_dynamics(jittered(0.008), metrics={"lr": cosine_to_zero()}, config=CONFIG)
    verdict = frozen.verdicts[0]
    assert verdict.evidence["form"] == "frozen_schedule", frozen.to_text()
    spread = np.ptp(frozen.evidence.curves.train_loss[4:])
    assert 0.01 * np.log(2) < spread < 0.05 * np.log(2)
    # A loss that jumps by more than that was not frozen.
    moving = jittered(0.03)
    assert diagnose_dynamics(moving, metrics={"lr": cosine_to_zero()}, config=CONFIG).verdict(
        "underfitting").evidence.get("form") != "frozen_schedule"


def test_a_rate_cut_to_nothing_within_a_few_epochs_froze_the_model_where_the_cut_began():
    # Trial 21: a Lightning GRU whose reduce-on-plateau took 0.003 to 3e-9 tenfold per epoch from epoch 3 (its train
    # loss falling over epochs 1-3, flat since) had read "raise the learning rate 3e-09 -> 0.001" with no word on the
    # schedule; the rate reached a hundredth of its top at epoch 5, after the learning had stopped with the cut.
    cut = np.r_[0.003, 0.003, 0.003, 0.003 * 0.2 ** np.arange(1, 28)]
    diagnosis = diagnose_dynamics(frozen_run(freeze=3), metrics={"lr": cut}, config=CONFIG)
    verdict = diagnosis.verdicts[0]
    assert verdict.evidence["form"] == "frozen_schedule" and verdict.evidence["vanished_epoch"] == 6, diagnosis.to_text()
    # A schedule that takes the rate down over the whole run is not a cut: the model had levelled long before.
    slow = 0.003 * 0.5 * (1 + np.cos(np.pi * np.minimum(np.arange(30), 24) / 24))
    gradual = diagnose_dynamics(frozen_run(freeze=3), metrics={"lr": slow}, config=CONFIG)
    assert gradual.verdict("underfitting").evidence.get("form") != "frozen_schedule", gradual.to_text()


def test_a_schedule_that_froze_a_memorisation_nothing_of_which_shows_on_val_is_no_fault_to_lengthen():
    # Trial 22: a Transformer on shuffled labels, its cosine schedule at 0 by the end, train accuracy 0.76, read no
    # signal 0.95 "Also: underfitting 0.85, lengthen the learning-rate schedule".
    from lossgap.diagnosis.causes.underfitting_schedule import CONFIDENCE, MEMORISED_FACTOR

    run = frozen_run()
    rng = np.random.default_rng(0)
    labels = np.arange(200) % 2
    run["val"] = binary_dynamics(np.clip(0.5 + rng.normal(0, 0.02, (30, 200)), 0.01, 0.99), labels)
    diagnosis = diagnose_dynamics(run, metrics={"lr": cosine_to_zero()}, config=CONFIG)
    verdict = diagnosis.verdict("underfitting")
    assert verdict.evidence["form"] == "frozen_schedule" and verdict.evidence["memorised"], diagnosis.to_text()
    assert verdict.confidence == CONFIDENCE * MEMORISED_FACTOR and "underfitting" not in diagnosis.causes
    assert "nothing it learned shows on val, so a longer schedule would fit more" in verdict.summary
