"""Split checks beside the causes: val samples whose inputs copy training samples' are named before the headline."""

import numpy as np
from fixtures.diagnosis import diagnose_dynamics, healthy_run
from fixtures.no_signal_runs import memorised_noise_run
from lossgap.diagnosis.causes.no_signal_doubts import VAL_INPUTS_CAP, VAL_INPUTS_TITLE
from lossgap.diagnosis.causes.overfitting import ONE_SAMPLE_CAP
from fixtures.dynamics import binary_dynamics


def _copied_half_run(epochs=30):
    """Random labels memorised on train; the first 100 of val's 200 samples are copies of training inputs, so the
    model answers them as surely as train, and the other 100 stay a coin flip."""
    run = memorised_noise_run(epochs=epochs)
    prob = np.exp(run["val"].true_log_prob.astype(np.float64))
    prob[:, :100] = np.exp(run["train"].true_log_prob[:, :100].astype(np.float64))
    run["val"] = binary_dynamics(np.clip(prob, 0.01, 0.99), np.arange(200) % 2)
    return run


def _shared(ids, same_label=None, test=0):
    ids = list(ids)
    return {"val": {"count": len(ids), "same_label": len(ids) if same_label is None else same_label, "ids": ids},
            "test": {"count": test, "same_label": test}}


def test_val_copies_of_training_inputs_are_named_first_with_the_accuracy_of_the_rest():
    # A data file whose val rows repeated 60 training rows on random labels read overfitting 1.00 at val 0.79 with no
    # word that the model was at chance on the 60 other val samples.
    run = _copied_half_run()
    copied = diagnose_dynamics(run, shared_inputs=_shared(run["val"].sample_ids[:100].tolist(), test=7))
    line = copied.headline
    assert line.startswith("Val shares inputs with training (see the note): 100 of the 200 val samples are exact copies of "
                           "a training sample's inputs (all with its label too), and val accuracy "), line
    checks = copied.evidence.split_checks.copied
    assert checks.copies_accuracy == 1.0 and not checks.fresh.significant and 0.4 < checks.fresh.accuracy < 0.6
    assert f"{checks.fresh.accuracy:.3f} on the other 100 (their majority baseline 0.500, not significantly above it)" \
        in line
    assert "drop them from val (remove duplicate rows before splitting)" in line
    assert any(note.startswith("100 of the 200 val samples are exact copies") and "the model trained on those very inputs" in note
               for note in copied.limitations)
    assert any(note.startswith("7 test sample(s) are exact copies") for note in copied.limitations)


def test_a_few_copies_get_a_note_not_a_warning_and_none_get_nothing():
    run = healthy_run()
    few = diagnose_dynamics(run, shared_inputs=_shared(run["val"].sample_ids[:5].tolist(), same_label=3))
    assert not few.headline.startswith("Val shares inputs"), few.headline
    note = next(note for note in few.limitations if note.startswith("5 of the 200 val samples are exact copies"))
    assert "(3 with its label too, 2 with another label)" in note and "significantly above it" in note
    for shared in (None, _shared([]), _shared([7, 8])):  # none, or ids no val sample has
        clean = diagnose_dynamics(run, shared_inputs=shared)
        assert clean.evidence.split_checks.copied is None
        assert not any("exact copies" in note for note in clean.limitations)


def test_val_inputs_shifted_from_train_are_named_first_and_test_gets_a_note():
    # GunPoint with its val inputs shifted by 1.5 standard deviations read no signal 0.95 without a word on them.
    shift = {"feature": 0, "mean_shift": 1.5, "z": 80.0, "scale_ratio": 1.0, "shifted": True}
    calm = {"feature": 0, "mean_shift": 0.02, "z": 0.4, "scale_ratio": 1.01, "shifted": False}
    diagnosis = diagnose_dynamics(memorised_noise_run(), input_shift={"val": shift, "test": shift})
    assert diagnosis.headline.startswith("Val inputs differ from train's: feature 0's mean lies 1.50 training standard "
                                         "deviations from train's, its spread 1.00x train's (see the note)")
    notes = [note for note in diagnosis.limitations if "inputs differ from train's" in note]
    assert [note.split("'")[0] for note in notes] == ["val", "test"] and "scaled with train's statistics" in notes[0]
    constant = {"feature": 3, "mean_shift": None, "z": 1e9, "scale_ratio": None, "train_mean": 1.0, "mean": 5.0,
                "train_constant": True, "shifted": True}
    assert diagnose_dynamics(memorised_noise_run(), input_shift={"val": constant}).headline.startswith(
        "Val inputs differ from train's: feature 3 is 1 throughout train but averages 5 here (see the note)")
    quiet = diagnose_dynamics(memorised_noise_run(), input_shift={"val": calm, "test": calm})
    assert not quiet.headline.startswith("Val inputs differ")
    assert not any("inputs differ" in note for note in quiet.limitations)
    # Val at chance says nothing of the labels while val's inputs are not train's: the shift, not no signal, leads.
    no_signal = diagnosis.verdict("no_signal")
    assert no_signal.confidence == VAL_INPUTS_CAP and no_signal.remedies[0].name == "check_val_inputs"
    assert quiet.verdict("no_signal").confidence > 0.9 and "val_inputs_differ" not in quiet.verdict("no_signal").evidence
    # A model at val 1.000 on a val whose inputs differ gives no rule anything to read: "No problem found" under the
    # warning. One whose val trails train is not called healthy (the suite's val scaled 2x and moved 1 sd, GunPoint
    # at val 0.76 against train 0.99, had read "No problem found" 0.70): the gap measures the difference too.
    fine = diagnose_dynamics(healthy_run(), input_shift={"val": shift})
    assert fine.causes == [] and fine.headline.split("in mind: ")[1].startswith("No problem found (0.95)")
    from fixtures.val_split_runs import val_prepared_otherwise_run
    trailing = diagnose_dynamics(val_prepared_otherwise_run(knows=True, piled=0.8), input_shift={"val": shift})
    assert trailing.causes == [] and trailing.healthy_confidence <= 0.5
    assert "No cause found (0.50)" in trailing.headline and "its figures measure that difference" in trailing.headline


def test_val_the_model_piles_on_one_class_while_it_fits_train_is_named_first_and_no_signal_gives_way():
    # Three trials' runs with val left unstandardised or shifted (own loops record no inputs) read no signal 0.95 and,
    # once no signal gave way, overfitting 0.87 with "stop at epoch 1"; prepared as train, val reached 0.98-0.99.
    from fixtures.val_split_runs import val_prepared_otherwise_run

    diagnosis = diagnose_dynamics(val_prepared_otherwise_run())
    assert diagnosis.headline.startswith("Val inputs look unlike train's to the model: it puts 90% of val into class 0 "
                                         "against 50% of train (and 50% of val's labels) over epochs 16-30"), \
        diagnosis.headline
    assert diagnosis.causes == [] and "No cause found" in diagnosis.headline
    assert "until val is prepared as train, no rule can tell whether the labels carry signal" in diagnosis.headline
    no_signal = diagnosis.verdict("no_signal")
    assert no_signal.confidence == VAL_INPUTS_CAP and no_signal.evidence["title"] == VAL_INPUTS_TITLE
    names = [remedy.name for remedy in no_signal.remedies]
    assert names[0] == "check_val_inputs" and "permuted_control" not in names
    assert diagnosis.next_steps.remedies[0].name == "check_val_inputs"
    overfitting = diagnosis.verdict("overfitting")
    assert overfitting.confidence <= ONE_SAMPLE_CAP and "val's inputs look unlike train's" in overfitting.summary
    # Its own check_val_inputs went to no signal, ranked above it (a remedy is given once).
    assert overfitting.evidence["val_inputs_differ"]
    assert any(note.startswith("the model sees val's inputs as unlike its training inputs") and "p=" in note
               for note in diagnosis.limitations)
    # The mix stands in for input statistics a run did not record: where they were recorded and show val like train,
    # the lopsided mix is the model's own (a trial's batch-norm model memorising shuffled labels piled val and the
    # clean test split alike on one class, inputs prepared as train, and read "Val inputs look unlike train's").
    calm = {"feature": 0, "mean_shift": 0.01, "z": 0.8, "scale_ratio": 1.0, "train_mean": 0.0, "mean": 0.01,
            "train_constant": False, "shifted": False}
    recorded = diagnose_dynamics(val_prepared_otherwise_run(), input_shift={"val": calm})
    assert recorded.evidence.split_checks.predicted_mix is None and not recorded.headline.startswith("Val inputs")
    assert not any("unlike its training inputs" in note for note in recorded.limitations)
    # Shuffled labels spread val much as train: no such doubt, and no signal stays sure.
    noise = diagnose_dynamics(memorised_noise_run())
    assert noise.evidence.split_checks.predicted_mix is None and not noise.headline.startswith("Val inputs")
    assert noise.verdict("no_signal").confidence > 0.9


def test_val_that_trails_train_from_the_first_epoch_is_named_first_with_the_samples_wrong_from_the_start():
    # A quarter of the val labels flipped: train 0.944 against val 0.710 at epoch 1, the val loss lowest there and
    # rising on the same samples ever after; it had read overfitting 1.00 with "stop at epoch 1" first.
    from fixtures.val_split_runs import val_wrong_from_start_run

    diagnosis = diagnose_dynamics(val_wrong_from_start_run())
    start = diagnosis.evidence.split_checks.wrong_from_start
    assert start is not None and start.val_accuracy < start.train_accuracy - 0.2
    assert 40 <= start.wrong_count <= 60 and len(start.wrong_ids) == 5
    assert diagnosis.headline.startswith("Val trails train from the first epoch: val accuracy "), diagnosis.headline
    assert "check their labels and how val was drawn" in diagnosis.headline
    # A clean val split, and a model that memorised its training set over many epochs, trail nothing from epoch 1.
    assert diagnose_dynamics(val_wrong_from_start_run(flipped_share=0.0)).evidence.split_checks.wrong_from_start is None
    assert diagnose_dynamics(memorised_noise_run()).evidence.split_checks.wrong_from_start is None


def _untrained_class_run(epochs=30, per_class=100, val_per_class=30, seed=0):
    """Four classes in val, three in train: class 3's training samples carry label 2 (a loader coding 3 as 4 in an own
    loop). The model fits train and the val samples of classes 0-2 (true-class probability 0.5 -> 0.97); class 3's val
    samples, never learned, give their class 0.2 -> 0.02, surer of class 2 every epoch."""
    from fixtures.dynamics import dynamics_from_logits

    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.0, 1.0, epochs)[:, None]

    def logits(labels, learned):
        out = rng.normal(0, 0.05, (epochs, labels.size, 4))
        rows = np.arange(labels.size)
        out[:, rows, np.where(learned, labels, 2)] += 1.0 + 4.0 * ramp
        return out

    train_labels = np.repeat([0, 1, 2, 2], per_class)
    val_labels = np.repeat([0, 1, 2, 3], val_per_class)
    return {"train": dynamics_from_logits(logits(train_labels, np.ones(train_labels.size, bool)), train_labels,
                                          split="train"),
            "val": dynamics_from_logits(logits(val_labels, val_labels != 3), val_labels, split="val")}


def test_val_classes_with_no_training_sample_are_named_first_and_their_rise_is_not_overfitting():
    # An own loop whose train loader coded class 3 as 4: class 3's 5 val samples, never learnable, grew surer wrong and
    # carried the whole rise of the val loss, which had read overfitting 0.94 with "stop at epoch 10".
    from lossgap.diagnosis.causes.overfitting import ONE_SAMPLE_CAP

    diagnosis = diagnose_dynamics(_untrained_class_run())
    assert diagnosis.evidence.split_checks.untrained == {3: 30}
    assert diagnosis.headline.startswith("Val holds class 3 (30 val samples) with no training sample"), diagnosis.headline
    overfitting = diagnosis.verdict("overfitting")
    assert overfitting.confidence <= ONE_SAMPLE_CAP and overfitting.evidence["rise_in_untrained_classes"], overfitting
    assert diagnosis.causes[:1] != ["overfitting"], diagnosis.to_text()
    # Every class in train: no warning.
    assert diagnose_dynamics(healthy_run()).evidence.split_checks.untrained == {}


def test_val_unlike_train_where_the_model_still_beats_the_baseline_is_no_cause_found_with_the_check_first():
    # ItalyPowerDemand with val shifted 1 standard deviation (val 0.905 -> 0.660; prepared as train 0.975) had read
    # "No problem found" 0.70 under the warning, and a val shifted 1 sd on a 3-class task overfitting 1.00.
    from fixtures.val_split_runs import val_prepared_otherwise_run
    from lossgap.diagnosis.headline import LEARNED_LITTLE_CAP

    diagnosis = diagnose_dynamics(val_prepared_otherwise_run(knows=True, piled=0.8))
    assert diagnosis.evidence.signal.p_value < 1e-6 and diagnosis.causes == []
    assert diagnosis.healthy_confidence <= LEARNED_LITTLE_CAP
    assert diagnosis.headline.split("read the rest with that in mind: ")[1].startswith(
        "No cause found (0.50): val accuracy 0.750 at epoch 18 (0.750 at epoch 30, the last; majority baseline 0.500), "
        "but val's inputs look unlike train's (above)"), diagnosis.headline
    assert diagnosis.next_steps.remedies[0].name == "check_val_inputs"
    overfitting = diagnosis.verdict("overfitting")
    assert overfitting.confidence <= ONE_SAMPLE_CAP and overfitting.evidence["val_inputs_differ"]
    assert diagnosis.extras["val_inputs_differ"] and not diagnose_dynamics(healthy_run()).extras["val_inputs_differ"]


def test_label_noise_read_up_to_a_val_loss_minimum_that_val_unlike_train_set_is_only_considered():
    # Four level classes with val left unscaled read label noise 0.57 on 6 samples of two neighbouring levels: the
    # suspects' window ends at the val-loss minimum, which such a val sets early.
    from fixtures.noise_runs import noisy_labels_run
    from fixtures.val_split_runs import val_prepared_otherwise_run
    from lossgap.diagnosis.causes.label_noise import rule
    from lossgap.diagnosis.causes.label_noise_doubts import VAL_INPUTS_CAP
    from lossgap.diagnosis.remedies import RemedyBook

    dynamics, _ = noisy_labels_run()
    clean = rule(diagnose_dynamics(dynamics).evidence, RemedyBook(None))
    assert clean.confidence > VAL_INPUTS_CAP
    shifted = diagnose_dynamics({**dynamics, "val": val_prepared_otherwise_run(val=300)["val"]})
    verdict = rule(shifted.evidence, RemedyBook(None))
    assert verdict.confidence == VAL_INPUTS_CAP and verdict.remedies[0].name == "check_val_inputs"
    assert "the suspects are read up to the val-loss minimum, which such a val sets" in verdict.summary


def test_train_records_that_hold_a_small_part_of_the_training_set_each_epoch_get_a_note():
    # Trial 19: an own loop that called recorder.update("train", ...) once after its batch loop recorded 17 of its 657
    # samples per epoch, and its train accuracy of 1.000 from them went without a word.
    from dataclasses import replace

    from lossgap.diagnosis.split_checks import partial_train_records
    from lossgap.dynamics import MISSING_PREDICTION

    run = healthy_run()
    train = run["train"]
    epochs, n = train.predicted.shape
    recorded = np.zeros((epochs, n), dtype=bool)
    for epoch in range(epochs):
        recorded[epoch, np.random.default_rng(epoch).choice(n, 16, replace=False)] = True
    partial = replace(train, predicted=np.where(recorded, train.predicted, MISSING_PREDICTION).astype(np.int16),
                      true_log_prob=np.where(recorded, train.true_log_prob, np.nan).astype(np.float32))
    diagnosis = diagnose_dynamics({**run, "train": partial})
    per_epoch, total = partial_train_records(diagnosis.evidence)
    assert per_epoch == 16 and total == int(recorded.any(axis=0).sum())
    assert any(note.startswith(f"each epoch's train records hold about 16 of the {total} training samples")
               for note in diagnosis.limitations), diagnosis.limitations
    assert partial_train_records(diagnose_dynamics(run).evidence) is None
    assert any("inside the batch loop" in note for note in diagnosis.limitations)
    # A loop whose sampler draws with replacement leaves samples out of each epoch however it records: it is not told
    # to record inside its batch loop (a trial's WeightedRandomSampler loops, recording every batch, had been).
    sampled = diagnose_dynamics({**run, "train": partial}, settings={"sampling": {"resampled_classes": True}})
    note = next(note for note in sampled.limitations if note.startswith("each epoch's train records hold"))
    assert "inside the batch loop" not in note and "its sampler draws with replacement" in note, note
