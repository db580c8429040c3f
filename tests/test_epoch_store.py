"""The per-epoch store: a recorder writing to it keeps no closed epoch in memory, and the dynamics it
gathers from disk are exactly those of a recorder that kept everything in memory."""

import numpy as np
import pytest
import torch

from lossgap.dynamics import load_dynamics
from lossgap.epoch_store import assemble_split, dynamics_from_store, read_epoch, stored_epochs, write_epoch
from lossgap.run.rundir import write_recording
from lossgap.training.recorder import Recorder

FIELDS = ("sample_ids", "labels", "true_log_prob", "predicted", "max_prob", "margin", "logits")


def feed(recorder, epochs=4, skip=None, seed=0):
    """Random logits for 30 train and 12 val samples per epoch; ``skip`` (epoch, id) leaves one train sample out."""
    generator = torch.Generator().manual_seed(seed)
    ids, labels = torch.arange(42), torch.arange(42) % 3
    for epoch in range(epochs):
        logits = torch.randn(42, 3, generator=generator)
        train = [i for i in range(30) if (epoch, i) != skip]
        recorder.update("train", ids[train], logits[train], labels[train])
        recorder.update("val", ids[30:], logits[30:], labels[30:])
        recorder.end_epoch()


@pytest.mark.parametrize("skip", [None, (2, 7)], ids=["same samples every epoch", "a sample missing once"])
def test_the_store_gives_exactly_the_in_memory_dynamics(tmp_path, skip):
    in_memory, stored = Recorder(), Recorder(store=tmp_path / "epochs")
    feed(in_memory, skip=skip)
    feed(stored, skip=skip)
    assert stored_epochs(tmp_path / "epochs") == [1, 2, 3, 4]
    assert all(entry is None for history in stored._epochs.values() for entry in history)   # nothing kept in memory
    write_recording(tmp_path / "a", in_memory)
    write_recording(tmp_path / "b", stored)
    expected, gathered = load_dynamics(tmp_path / "a" / "dynamics.npz"), load_dynamics(tmp_path / "b" / "dynamics.npz")
    assert expected.keys() == gathered.keys()
    for split in expected:
        assert expected[split].num_classes == gathered[split].num_classes
        for field in FIELDS:
            mine, theirs = getattr(gathered[split], field), getattr(expected[split], field)
            assert (mine is None) == (theirs is None)
            if mine is not None:
                assert mine.dtype == theirs.dtype and mine.shape == theirs.shape
                np.testing.assert_array_equal(mine, theirs)


def test_a_resumed_recorder_continues_the_store(tmp_path):
    first = Recorder(store=tmp_path / "epochs")
    feed(first, epochs=2)
    resumed = Recorder.resumed(tmp_path / "epochs", 2)
    assert resumed.num_epochs == 2
    with pytest.raises(ValueError, match="holds 2 epochs, the checkpoint 3"):
        Recorder.resumed(tmp_path / "epochs", 3)


@pytest.mark.parametrize("store", [False, True], ids=["in memory", "store"])
def test_save_keeps_only_the_epochs_the_trainer_finished(tmp_path, store):
    # A stop in the middle of closing epoch 3 leaves the recorder one epoch ahead of the metrics rows.
    recorder = Recorder(store=tmp_path / "epochs" if store else None)
    feed(recorder, epochs=3)
    write_recording(tmp_path / "run", recorder, epochs=2)
    saved = load_dynamics(tmp_path / "run" / "dynamics.npz")
    assert {split: part.num_epochs for split, part in saved.items()} == {"train": 2, "val": 2}


@pytest.mark.parametrize("ids", [[0, 1, 2], ["a", "b", "c"]], ids=["int ids", "str ids"])
def test_a_sample_whose_label_changes_is_named_with_its_epochs(ids):
    values = np.zeros((3, 4), dtype=np.float32)
    first = (np.array(ids[:2]), np.array([0, 1]), values[:2], None)
    later = (np.array(ids), np.array([0, 1, 0]), values, None)
    changed = (np.array(ids), np.array([0, 0, 0]), values, None)  # the second sample, first seen in epoch 1
    with pytest.raises(ValueError, match=rf"^Recorder: sample id {ids[1]!r} of 'train' has label 0 in epoch 3 but 1 in "
                                         r"epoch 1; ids must name the same sample in every epoch"):
        assemble_split("train", [first, later, changed], 2)
    with pytest.raises(ValueError, match=rf"sample id {ids[2]!r} of 'train' has label 1 in epoch 4 but 0 in epoch 2;"):
        assemble_split("train", [first, later, later, (np.array(ids), np.array([0, 1, 1]), values, None)], 2)


def test_a_store_mixing_two_recordings_names_the_sample_and_epoch(tmp_path):
    recorder = Recorder(store=tmp_path / "epochs")
    feed(recorder, epochs=2)
    records, _ = read_epoch(tmp_path / "epochs", 1)
    (ids, labels, values, logits), classes = records["val"]
    # Epoch 3 as another recording with other labels would write it, bypassing the Recorder's own checks.
    write_epoch(tmp_path / "epochs", 3, {"val": ((ids, (labels + 1) % 3, values, logits), classes)})
    with pytest.raises(ValueError, match=r"sample id 30 of 'val' has label 1 in epoch 3 but 0 in epoch 1; .*into an "
                                         "empty store"):
        dynamics_from_store(tmp_path / "epochs")
