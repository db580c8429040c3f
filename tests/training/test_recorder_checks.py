"""The Recorder's checks of what a training loop hands it: batch shapes and types, labels within the classes and
unchanged between epochs, samples recorded once per epoch, and a store holding an earlier recording's epochs."""

import re

import numpy as np
import pytest
import torch

import lossgap
from fixtures.recorder import close_epochs
from lossgap.epoch_store import stored_epochs
from lossgap.errors import ConfigError, RunDirError
from lossgap.training.recorder import Recorder


def test_recording_a_sample_twice_in_one_epoch_is_refused():
    recorder = Recorder()
    recorder.update("train", [1, 2], torch.zeros(2, 2), [0, 1])
    recorder.update("train", [2], torch.zeros(1, 2), [1])
    with pytest.raises(ValueError, match=r"sample id 2 was recorded twice in epoch 1 of 'train'"):
        recorder.end_epoch()


def test_a_label_beyond_the_logits_classes_is_named_when_the_epoch_closes():
    for labels, bad in (([0, 1, 5, 1], 5), ([0, -1, 1, 1], -1)):
        recorder = Recorder()
        recorder.update("train", torch.arange(4), torch.zeros(4, 2), torch.tensor([0, 1, 1, 1]))
        recorder.update("train", torch.arange(4, 8), torch.zeros(4, 2), torch.tensor(labels))
        with pytest.raises(ValueError, match=rf"Recorder.end_epoch \('train'\): label {bad} is not a class of the "
                                             r"2 logits per sample \(labels must be 0..1\)"):
            recorder.end_epoch()
        assert recorder.num_epochs == 0  # nothing was recorded from the refused epoch


def binary_logits(z):
    """The fix the single-logit error names: a binary head's logit z as two classes' logits [0, z]."""
    return torch.stack([torch.zeros_like(z), z], 1)


@pytest.mark.parametrize("split, logits, targets, message", [
    ("train", (torch.zeros(4, 2), torch.zeros(4, 8)), [0, 1, 1, 0],
     r"Recorder.update\('train'\): logits is a tuple of 2 tensors; pass the \(batch, classes\) logits tensor, "
     r"e.g. outputs\[0\]$"),
    ("train", [torch.zeros(2), torch.zeros(2), torch.zeros(2), torch.zeros(2)], [0, 1, 1, 0],
     r"logits is a list of 4 tensors; pass the \(batch, classes\) logits tensor, e.g. torch.stack\(logits\)"),
    ("val", {"logits": torch.zeros(4, 2), "hidden_states": None}, [0, 1, 1, 0],
     r"logits is a dict with keys \['logits', 'hidden_states'\]; pass .* e.g. outputs\['logits'\]$"),
    ("train", torch.zeros(4, 2), torch.eye(2)[[0, 1, 1, 0]],
     r"Recorder.update\('train'\): targets must be class indices \(batch,\), got shape \(4, 2\); for one-hot "
     r"targets pass targets.argmax\(1\)$"),
    ("train", torch.zeros(4), [0, 1, 1, 0],
     r"one logit per sample, shape \(4,\): lossgap needs one logit per class; for a binary head z pass "
     r"torch.stack\(\[torch.zeros_like\(z\), z\], 1\)$"),
    ("train", torch.zeros(4, 1), [0, 1, 1, 0],
     r"shape \(4, 1\): .* pass torch.cat\(\[torch.zeros_like\(z\), z\], 1\)$"),
    ("train", torch.zeros(4, 10, 2), [0, 1, 1, 0],
     r"logits must be \(batch, classes\) with one row per target \(4 targets\), got shape \(4, 10, 2\); for "
     r"per-step outputs \(batch, steps, classes\) pass .* e.g. logits\[:, -1\]$"),
    ("train", torch.zeros(3, 2), [0, 1, 1, 0], r"got shape \(3, 2\); pass the model's raw \(batch, classes\) outputs"),
    ("valid", torch.zeros(4, 2), [0, 1, 1, 0],
     r"Recorder.update\('valid'\): unknown split; record the splits as 'train', 'val' or 'test'"),
], ids=["tuple-of-outputs", "list-of-rows", "dict-of-outputs", "one-hot-targets", "single-logit", "single-logit-column",
        "per-step-logits", "rows-not-targets", "unknown-split"])
def test_common_input_mistakes_are_named_in_one_line_with_the_fix(split, logits, targets, message):
    recorder = Recorder()
    with pytest.raises(ValueError, match=message) as refused:
        recorder.update(split, torch.arange(4), logits, targets)
    assert "\n" not in str(refused.value)
    assert recorder.splits == ()  # nothing of the refused batch is kept


def test_the_named_fixes_record_what_was_meant():
    recorder = Recorder()
    z = torch.tensor([2.0, -1.0, 0.5, -3.0])
    one_hot = torch.eye(2)[[1, 0, 1, 0]]
    recorder.update("val", torch.arange(4), binary_logits(z), one_hot.argmax(1))
    column = z[:, None]
    recorder.update("train", torch.arange(4), torch.cat([torch.zeros_like(column), column], 1),
                    one_hot.argmax(1)[:, None])
    recorder.end_epoch()
    for record in recorder.dynamics().values():
        # softmax([0, z]) gives class 1 the binary head's sigmoid; (batch, 1) class indices are read as (batch,).
        positive = torch.sigmoid(z).numpy()
        np.testing.assert_allclose(np.exp(record.true_log_prob[0]), [positive[0], 1 - positive[1], positive[2],
                                                                     1 - positive[3]], rtol=1e-6)
        np.testing.assert_array_equal(record.labels, [1, 0, 1, 0])


def test_every_split_the_trainer_records_is_accepted():
    recorder = Recorder()
    for split in ("train", "val", "test"):
        recorder.update(split, [0, 1], torch.zeros(2, 2), [0, 1])
    assert set(recorder.end_epoch()) == {"train", "val", "test"}


def two_epochs(recorder, second_ids, second_labels, ids=(0, 1, 2), labels=(0, 1, 0)):
    """Close one epoch of ``ids``/``labels``, then record (without closing) a second of the others."""
    recorder.update("train", np.array(ids), torch.zeros(len(ids), 2), torch.tensor(labels))
    recorder.end_epoch()
    recorder.update("train", np.array(second_ids), torch.zeros(len(second_ids), 2), torch.tensor(second_labels))


@pytest.mark.parametrize("store", [False, True])
def test_a_label_that_changes_between_epochs_is_named_when_the_epoch_closes(tmp_path, store):
    cases = [([2, 0, 1], [1, 0, 1], (0, 1, 2), (0, 1, 0), "sample id 2 has label 1 in epoch 2 but 0"),  # same ids
             ([1, 3], [0, 1], (0, 1, 2), (0, 1, 0), "sample id 1 has label 0 in epoch 2 but 1"),  # other ids
             (["c", "a"], [1, 0], ("a", "b", "c"), (0, 1, 0), "sample id 'c' has label 1 in epoch 2 but 0")]
    for index, (second_ids, second_labels, ids, labels, named) in enumerate(cases):
        recorder = Recorder(store=tmp_path / f"epochs{index}" if store else None)
        two_epochs(recorder, second_ids, second_labels, ids, labels)
        with pytest.raises(ValueError, match=rf"Recorder.end_epoch \('train'\): {named} in an earlier epoch; ids "
                                             "must name the same sample, with the same label, in every epoch"):
            recorder.end_epoch()
        assert recorder.num_epochs == 1  # the refused epoch is not recorded; its batches can be dropped
        recorder.discard_pending()
        recorder.update("train", np.array(ids[:2]), torch.zeros(2, 2), torch.tensor(labels[:2]))
        recorder.end_epoch()
        assert recorder.dynamics()["train"].num_epochs == 2


def test_new_samples_join_the_labels_a_later_epoch_is_checked_against(tmp_path):
    recorder = Recorder()
    two_epochs(recorder, [5, 1], [1, 1])  # sample 5 is new, sample 1 keeps label 1
    recorder.end_epoch()
    recorder.update("train", np.array([5, 2]), torch.zeros(2, 2), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="sample id 5 has label 0 in epoch 3 but 1 in an earlier epoch"):
        recorder.end_epoch()


def test_a_resumed_recorder_checks_labels_against_its_stored_epochs(tmp_path):
    recorder = Recorder(store=tmp_path / "epochs")
    two_epochs(recorder, [0, 1, 2], [0, 1, 0])
    recorder.end_epoch()
    resumed = Recorder.resumed(tmp_path / "epochs", 2)
    resumed.update("train", np.array([0, 1]), torch.zeros(2, 2), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="sample id 1 has label 0 in epoch 3 but 1 in an earlier epoch"):
        resumed.end_epoch()


def test_a_store_holding_an_earlier_recordings_epochs_is_refused_unless_overwrite(tmp_path):
    store = tmp_path / "run" / "epochs"
    close_epochs(Recorder(store=store), 3)
    (store / "epoch_00007.npz").write_bytes((store / "epoch_00003.npz").read_bytes())  # after a gap: it counts too
    (store / "notes.txt").write_text("mine")
    before = {path.name: path.read_bytes() for path in store.iterdir()}
    quoted = re.escape(repr(str(store)))
    with pytest.raises(RunDirError, match=rf"^Recorder: store={quoted} holds 4 epoch files of an earlier recording, "
                                          r"which the new epochs would mix with; pass overwrite=True to delete them "
                                          rf"and start afresh, continue that recording with Recorder.resumed\({quoted},"
                                          rf" 3\), save it first with lossgap.recover_recorded_run\({quoted}, "
                                          rf"{re.escape(repr(str(store.parent)))}\), or choose another store$"):
        Recorder(store=store)
    assert {path.name: path.read_bytes() for path in store.iterdir()} == before  # nothing deleted
    assert Recorder.resumed(store, 3).num_epochs == 3  # continuing is no new recording: not refused
    fresh = Recorder(store=store, overwrite=True)
    assert sorted(path.name for path in store.iterdir()) == ["notes.txt"]  # only the epoch files went
    close_epochs(fresh, 1, samples=4)
    assert stored_epochs(store) == [1] and fresh.dynamics()["train"].num_samples == 4


def test_a_store_whose_run_is_saved_is_not_offered_for_recovery_again(tmp_path):
    store = tmp_path / "run" / "epochs"
    first = Recorder(store=store)
    close_epochs(first, 2)
    lossgap.save_recorded_run(first, store.parent)
    with pytest.raises(RunDirError, match=r"holds 2 epoch files .*start afresh, continue that recording with "
                                          r"Recorder.resumed\(.*, 2\), or choose another store$") as error:
        Recorder(store=store)
    assert "recover_recorded_run" not in str(error.value)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match=r"^Recorder: store='.*file' is a file; choose a directory path$"):
        Recorder(store=tmp_path / "file")


def test_a_sampler_that_draws_with_replacement_keeps_each_samples_last_record_with_keep_last():
    with pytest.raises(ValueError, match=r"pass repeated_ids='keep_last' to the Recorder \(or LossgapCallback\)$"):
        recorder = Recorder()
        recorder.update("train", [1, 2], torch.zeros(2, 2), [0, 1])
        recorder.update("train", [2], torch.zeros(1, 2), [1])
        recorder.end_epoch()
    recorder = Recorder(repeated_ids="keep_last")
    first = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    recorder.update("train", [1, 2], first, [0, 1])
    recorder.update("train", [2, 1], torch.tensor([[0.0, 5.0], [0.0, 3.0]]), [1, 0])  # 3 never drawn
    recorder.update("train", [3], torch.zeros(1, 2), [1])
    recorder.end_epoch()
    recorder.update("train", [1, 1], torch.tensor([[4.0, 0.0], [0.0, 4.0]]), [0, 0])
    recorder.end_epoch()
    record = recorder.dynamics()["train"]
    np.testing.assert_allclose(record.margin[0], [-3.0, 5.0, 0.0])  # each sample's last record of the epoch
    np.testing.assert_allclose(record.margin[1, 0], -4.0)
    np.testing.assert_array_equal(record.seen, [[True, True, True], [True, False, False]])
    with pytest.raises(ConfigError, match=r"^Recorder: repeated_ids='last'; use 'error' or 'keep_last'$"):
        Recorder(repeated_ids="last")
