"""Recorder: per-sample arrays match a direct evaluation; ids align whatever the batch order."""

import numpy as np
import pytest
import torch

from fixtures.recorder import close_epochs
from lossgap.dynamics import load_dynamics
from lossgap.epoch_store import stored_epochs
from lossgap.run.rundir import write_recording
from lossgap.training.batching import DeviceSplit
from lossgap.training.config import TrainConfig
from lossgap.training.recorder import Recorder
from lossgap.training.seeding import seeded
from lossgap.training.trainer import fit
from lossgap.model import LSTMClassifier


def direct_log_probs(model, data):
    model.eval()
    with torch.inference_mode():
        lengths = torch.from_numpy(data.lengths) if data.has_variable_lengths else None
        return torch.log_softmax(model(torch.from_numpy(data.features), lengths), dim=1).numpy()


@pytest.mark.parametrize("fixture_name", ["small_splits", "variable_splits"])
def test_recorded_arrays_match_direct_evaluation_at_end_of_epoch(fixture_name, request):
    splits = request.getfixturevalue(fixture_name)
    config = TrainConfig(epochs=2, batch_size=8)
    recorder = Recorder()
    with seeded(0, torch.device("cpu")) as generator:
        model = LSTMClassifier(splits.num_features, 8, splits.num_classes)
        fit(model, splits, config, recorder, generator)
    dynamics = recorder.dynamics()
    for name, data in splits.splits().items():
        log_probs = direct_log_probs(model, data)
        record = dynamics[name]
        order = np.argsort(data.ids)
        np.testing.assert_array_equal(record.sample_ids, data.ids[order])
        np.testing.assert_array_equal(record.labels, data.labels[order])
        expected_true = log_probs[order, data.labels[order]]
        np.testing.assert_allclose(record.true_log_prob[-1], expected_true, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(record.predicted[-1], log_probs[order].argmax(axis=1))
        np.testing.assert_allclose(record.max_prob[-1], np.exp(log_probs[order].max(axis=1)), rtol=2e-3)
        masked = log_probs[order].copy()
        masked[np.arange(len(order)), data.labels[order]] = -np.inf
        # Log-probabilities and logits differ by a per-sample constant, so their margins agree.
        np.testing.assert_allclose(record.margin[-1], expected_true - masked.max(axis=1), rtol=1e-4, atol=1e-5)


def test_shuffled_batches_align_on_ids_and_epoch_summary_is_the_sample_mean():
    recorder = Recorder()
    ids = np.array([30, 10, 20, 40])
    targets = torch.tensor([0, 1, 1, 0])
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.5, 0.0]])
    recorder.update("val", ids[:3], logits[:3], targets[:3])
    recorder.update("val", ids[3:], logits[3:], targets[3:])
    summary = recorder.end_epoch()["val"]
    reverse = np.array([3, 2, 1, 0])
    recorder.update("val", ids[reverse], logits[reverse], targets[reverse])
    recorder.end_epoch()
    record = recorder.dynamics()["val"]
    np.testing.assert_array_equal(record.sample_ids, [10, 20, 30, 40])
    np.testing.assert_array_equal(record.true_log_prob[0], record.true_log_prob[1])
    expected_loss = torch.nn.functional.cross_entropy(logits, targets).item()
    assert summary.loss == pytest.approx(expected_loss, rel=1e-6)
    assert summary.accuracy == pytest.approx(0.75)
    assert summary.balanced_accuracy == pytest.approx((1.0 + 0.5) / 2)
    np.testing.assert_array_equal(record.correct[0], [True, False, True, True])


def test_the_trusted_path_records_exactly_what_update_records_and_still_checks_labels_per_epoch():
    ids, targets = np.array([3, 1, 2]), torch.tensor([0, 1, 1])
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.5]], requires_grad=True)
    checked, trusted = Recorder(), Recorder()
    checked.update("train", ids, logits, targets)
    trusted.update_trusted("train", ids, logits, targets)
    assert not trusted._pending["train"][0][1].requires_grad   # kept detached: no graph held until end_epoch
    assert checked.end_epoch() == trusted.end_epoch()
    np.testing.assert_array_equal(checked.dynamics()["train"].true_log_prob, trusted.dynamics()["train"].true_log_prob)
    trusted.update_trusted("train", ids, logits, torch.tensor([0, 1, 7]))
    with pytest.raises(ValueError, match="label 7 is not a class"):
        trusted.end_epoch()
    # What costs nothing to check is still checked at once: the split's name and the targets' dtype.
    for split, labels in (("tarin", targets), ("train", targets.int())):
        with pytest.raises(ValueError, match="needs a split of .* and int64 targets"):
            Recorder().update_trusted(split, ids, logits, labels)


def test_a_sample_missing_from_one_epoch_is_marked_unseen():
    recorder = Recorder(keep_logits=())
    recorder.update("train", torch.tensor([0, 1, 2]), torch.zeros(3, 2), torch.tensor([0, 1, 0]))
    recorder.end_epoch()
    recorder.update("train", torch.tensor([0, 2]), torch.zeros(2, 2), torch.tensor([0, 0]))
    recorder.end_epoch()
    record = recorder.dynamics()["train"]
    np.testing.assert_array_equal(record.seen, [[True, True, True], [True, False, True]])
    assert np.isnan(record.true_log_prob[1, 1])


def test_save_and_load_round_trip(tmp_path, small_splits):
    recorder = Recorder()
    with seeded(0, torch.device("cpu")) as generator:
        fit(LSTMClassifier(2, 4, 3), small_splits, TrainConfig(epochs=2, batch_size=16), recorder, generator)
    path = write_recording(tmp_path, recorder)
    loaded = load_dynamics(path)
    original = recorder.dynamics()
    assert path.name == "dynamics.npz" and list(loaded) == ["train", "val"]
    for split in original:
        for field in ("sample_ids", "labels", "true_log_prob", "predicted", "max_prob", "margin"):
            np.testing.assert_array_equal(getattr(loaded[split], field), getattr(original[split], field))
    assert loaded["train"].logits is None and loaded["val"].logits.shape == (2, 32, 3)
    assert loaded["val"].true_log_prob.dtype == np.float32 and loaded["val"].predicted.dtype == np.int16


def test_string_ids_from_a_user_loop():
    recorder = Recorder()
    recorder.update("val", np.array(["b", "a"]), torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1]))
    recorder.end_epoch()
    record = recorder.dynamics()["val"]
    np.testing.assert_array_equal(record.sample_ids, ["a", "b"])
    np.testing.assert_array_equal(record.predicted[0], [1, 0])


def test_device_split_drops_lengths_for_fixed_length_data(small_splits, variable_splits):
    assert DeviceSplit.from_data(small_splits.train, torch.device("cpu")).lengths is None
    assert DeviceSplit.from_data(variable_splits.train, torch.device("cpu")).lengths is not None


def test_observe_records_every_epoch_and_save_writes_optimization_csv(tmp_path, small_splits):
    recorder = Recorder()
    with seeded(0, torch.device("cpu")) as generator:
        model = LSTMClassifier(2, 4, 3)
        fit(model, small_splits, TrainConfig(epochs=3, batch_size=16), recorder, generator)
    observed = recorder.observations()
    assert observed is not None and observed.num_epochs == 3
    # 64 train samples in batches of 16: 4 steps, all measured in the first epoch, then one in 8.
    assert small_splits.train.num_samples == 64
    assert observed.steps.tolist() == [4, 4, 4] and observed.measured_steps.tolist() == [4, 1, 1]
    assert observed.tensor_names == tuple(name for name, _ in model.named_parameters())
    assert observed.layer_names == ("lstm.l0",) and np.isfinite(observed.grad_norm).all()
    assert recorder._observer is None  # fit removed its hooks from the model it hands back
    write_recording(tmp_path, recorder)
    assert (tmp_path / "optimization.csv").exists()


def test_without_observe_nothing_changes_and_a_stale_file_is_removed(tmp_path):
    (tmp_path / "optimization.csv").write_text("epoch\n1\n")
    recorder = Recorder()
    recorder.update("val", [0, 1], torch.zeros(2, 2), [0, 1])
    recorder.end_epoch()
    assert recorder.observations() is None
    write_recording(tmp_path, recorder)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dynamics.npz"]


def test_epochs_before_observe_are_empty_and_an_interrupted_epoch_is_discarded():
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    recorder = Recorder()

    def epoch(finish=True):
        for _ in range(3):
            optimizer.zero_grad()
            model(torch.randn(4, 2)).sum().backward()
            optimizer.step()
        recorder.update("train", [0], torch.zeros(1, 2), [0])
        if finish:
            recorder.end_epoch()
        else:
            recorder.discard_pending()

    epoch()
    recorder.observe(model, min_stride=1)
    epoch(finish=False)
    epoch()
    observed = recorder.observations()
    assert observed.steps.tolist() == [0, 3] and np.isnan(observed.grad_norm[0]).all()
    recorder.stop_observing()
    epoch()
    assert recorder.observations().steps.tolist() == [0, 3, 0]


def test_ids_stay_on_their_device_until_the_epoch_closes():
    # A meta tensor holds no data: copying it to the host fails, so update() must not try (on an accelerator
    # that copy is a wait for the device at every batch).
    recorder = Recorder()
    recorder.update("train", torch.arange(4, device="meta"), torch.zeros(4, 2), torch.tensor([0, 1, 0, 1]))
    recorder.discard_pending()
    as_tensors, as_arrays = Recorder(), Recorder()
    ids = torch.tensor([7, 3, 5, 1, 9, 2], dtype=torch.int32)
    logits = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    targets = torch.tensor([0, 2, 1, 1, 0, 2])
    for recorder in (as_tensors, as_arrays):
        for epoch in range(2):
            for part in (slice(0, 4), slice(4, 6)):
                batch_ids = ids[part] if recorder is as_tensors else ids[part].numpy()
                if epoch and part.start == 4 and recorder is as_tensors:
                    batch_ids = batch_ids.numpy()  # tensors and arrays mixed in one epoch
                recorder.update("val", batch_ids, logits[part], targets[part])
            recorder.end_epoch()
    got, expected = as_tensors.dynamics()["val"], as_arrays.dynamics()["val"]
    for field in ("sample_ids", "labels", "true_log_prob", "predicted", "max_prob", "margin", "logits"):
        np.testing.assert_array_equal(getattr(got, field), getattr(expected, field))
    np.testing.assert_array_equal(got.sample_ids, [1, 2, 3, 5, 7, 9])


def test_a_stop_signal_while_an_epoch_is_written_waits_until_the_epoch_is_whole(tmp_path, monkeypatch):
    # Ctrl-C landing inside numpy's savez once came out as zipfile's "Can't close the ZIP file" ValueError,
    # a traceback instead of a stop; now the epoch is written whole and then the stop arrives.
    import signal

    import lossgap.epoch_store

    store = tmp_path / "epochs"
    recorder = Recorder(store=store)
    close_epochs(recorder, 1)
    real_savez = np.savez

    def savez_with_a_stop_arriving(file, **arrays):
        signal.raise_signal(signal.SIGINT)
        real_savez(file, **arrays)

    monkeypatch.setattr(lossgap.epoch_store.np, "savez", savez_with_a_stop_arriving)
    with pytest.raises(KeyboardInterrupt):
        close_epochs(recorder, 1)
    monkeypatch.setattr(lossgap.epoch_store.np, "savez", real_savez)
    assert stored_epochs(store) == [1, 2] and recorder.num_epochs == 2
    assert Recorder.resumed(store, 2).dynamics()["train"].num_epochs == 2


def test_end_epoch_with_nothing_recorded_since_the_last_adds_no_epoch():
    # A second end_epoch() in one epoch had added an empty epoch 5 to a 12-epoch loop (metrics row "5,,,,,,"),
    # and every later epoch was quoted one too high.
    recorder = Recorder()
    ids, labels = torch.arange(4), torch.tensor([0, 1, 0, 1])
    recorder.update("val", ids, torch.randn(4, 2), labels)
    recorder.end_epoch()
    with pytest.warns(RuntimeWarning, match=r"^Recorder.end_epoch: nothing was recorded since epoch 1 ended"):
        assert recorder.end_epoch() == {}
    recorder.update("val", ids, torch.randn(4, 2), labels)
    recorder.end_epoch()
    assert recorder.num_epochs == 2 and recorder.dynamics()["val"].seen.all()


def test_softmax_probabilities_passed_as_logits_are_named_when_the_epoch_closes():
    logits = torch.randn(6, 3)
    recorder = Recorder()
    recorder.update("val", torch.arange(6), torch.softmax(logits, dim=1), torch.tensor([0, 1, 2, 0, 1, 2]))
    with pytest.raises(ValueError, match=r"^Recorder.end_epoch \('val'\): every row of the logits is in \[0, 1\] "
                                         r"and sums to 1, so they look like softmax probabilities; pass the model's "
                                         r"raw outputs \(before softmax\), or torch.log\(probabilities\)$"):
        recorder.end_epoch()
    assert recorder.num_epochs == 0
    # Their log, or log_softmax, gives the same cross-entropy as the raw logits: accepted.
    recorder = Recorder()
    recorder.update("val", torch.arange(6), torch.log_softmax(logits, dim=1), torch.tensor([0, 1, 2, 0, 1, 2]))
    assert recorder.end_epoch()["val"].loss == pytest.approx(
        float(torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0, 1, 2]))), rel=1e-5)


def test_the_balanced_loss_is_the_cross_entropy_weighted_by_balanced_class_weights():
    from lossgap.training.trainer import class_weight_tensor

    logits, targets = torch.randn(40, 3), torch.tensor([0] * 30 + [1] * 7 + [2] * 3)
    recorder = Recorder()
    recorder.update("val", torch.arange(40), logits, targets)
    summary = recorder.end_epoch()["val"]
    weights = class_weight_tensor(targets.numpy(), 3, torch.device("cpu"))
    expected = torch.nn.functional.cross_entropy(logits, targets, weight=weights)
    assert summary.balanced_loss == pytest.approx(float(expected), rel=1e-6)
    assert summary.loss == pytest.approx(float(torch.nn.functional.cross_entropy(logits, targets)), rel=1e-6)
