"""Augmented training batches (--augment-*): what each transformation does to a sequence, that padding is never
read, that the recorded train figures stay those of the real samples, and that a resumed run draws the same."""

import numpy as np
import pytest
import torch
from fixtures.training import checkpoint_weights, metrics_without_seconds

from lossgap import api
from lossgap.data import DataConfig
from lossgap.errors import ConfigError
from lossgap.model import ModelConfig
from lossgap.resume import resume
from lossgap.run.predict import predict
from lossgap.training.augment import augment_batch
from lossgap.training.config import AugmentConfig, TrainConfig

PADDING = 1e6


def ramps(lengths, steps=12, features=2):
    """Sequences whose feature f reads (f + 1) * t at step t, padded with PADDING after their length."""
    step = torch.arange(steps, dtype=torch.float64)
    batch = torch.stack([step * (feature + 1) for feature in range(features)], dim=-1).repeat(len(lengths), 1, 1)
    for row, length in enumerate(lengths):
        batch[row, length:] = PADDING
    return batch


def test_nothing_asked_is_the_batch_itself():
    batch = ramps([12, 12])
    assert augment_batch(batch, None, AugmentConfig()) is batch


def test_window_slicing_stretches_a_window_of_each_sequence_and_never_reads_padding():
    torch.manual_seed(0)
    lengths = torch.tensor([12, 7, 2, 1])
    batch = ramps(lengths.tolist())
    ratio = 0.75
    sliced = augment_batch(batch, lengths, AugmentConfig(slice=ratio))
    for row, length in enumerate(lengths.tolist()):
        valid = sliced[row, :length, 0]
        # Linear interpolation of a ramp is the ramp: step t reads position start + ratio * t, inside the sequence.
        start = float(valid[0])
        assert 0.0 <= start <= (1 - ratio) * (length - 1) + 1e-12
        expected = start + ratio * torch.arange(length, dtype=torch.float64)
        assert torch.allclose(valid, expected, atol=1e-12)
        assert torch.allclose(sliced[row, :length, 1], 2 * expected, atol=1e-12)
        assert float(valid.max()) <= length - 1
        assert torch.equal(sliced[row, length:], batch[row, length:])


def test_window_slicing_starts_are_spread_over_the_room_the_window_leaves():
    torch.manual_seed(1)
    batch = ramps([12] * 2000, features=1)
    starts = augment_batch(batch, None, AugmentConfig(slice=0.5))[:, 0, 0]
    room = 0.5 * 11
    assert float(starts.min()) >= 0 and float(starts.max()) <= room
    assert float(starts.mean()) == pytest.approx(room / 2, rel=0.05)


def test_scaling_multiplies_each_feature_of_a_sequence_by_one_factor():
    torch.manual_seed(2)
    lengths = torch.tensor([12, 5])
    batch = ramps(lengths.tolist()) + 1.0
    scaled = augment_batch(batch, lengths, AugmentConfig(scale=0.2))
    for row, length in enumerate(lengths.tolist()):
        factors = scaled[row, :length] / batch[row, :length]
        assert torch.allclose(factors, factors[:1].expand_as(factors), rtol=1e-12)
        assert torch.equal(scaled[row, length:], batch[row, length:])
    many = augment_batch(torch.ones(4000, 1, 1, dtype=torch.float64), None, AugmentConfig(scale=0.2)).flatten()
    assert float(many.mean()) == pytest.approx(1.0, abs=0.02) and float(many.std()) == pytest.approx(0.2, rel=0.05)


def test_jitter_adds_noise_of_its_spread_at_valid_steps_only():
    torch.manual_seed(3)
    lengths = torch.tensor([300, 100])
    batch = torch.zeros(2, 300, 3, dtype=torch.float64)
    batch[1, 100:] = PADDING
    noisy = augment_batch(batch, lengths, AugmentConfig(jitter=0.05))
    assert torch.equal(noisy[1, 100:], batch[1, 100:])
    assert float(noisy[0].std()) == pytest.approx(0.05, rel=0.1)


def test_the_same_seed_draws_the_same_augmentation():
    config = AugmentConfig(slice=0.9, scale=0.1, jitter=0.03)
    batch = ramps([12, 9])
    torch.manual_seed(7)
    first = augment_batch(batch, torch.tensor([12, 9]), config)
    torch.manual_seed(7)
    assert torch.equal(first, augment_batch(batch, torch.tensor([12, 9]), config))


@pytest.mark.parametrize("flag, values", [("--augment-slice", {"slice": 1.0}), ("--augment-slice", {"slice": 0.0}),
                                          ("--augment-scale", {"scale": -0.1}),
                                          ("--augment-jitter", {"jitter": float("nan")})])
def test_a_value_outside_its_range_is_a_one_line_error_naming_the_option(flag, values):
    with pytest.raises(ConfigError) as error:
        TrainConfig.from_dict({**TrainConfig().to_dict(), "augment": values})
    assert flag in str(error.value) and "\n" not in str(error.value)


def test_the_options_reach_the_rerun_command_and_parse_back():
    config = TrainConfig(augment=AugmentConfig(slice=0.9, jitter=0.03))
    command = config.command()
    assert "--augment-slice 0.9" in command and "--augment-jitter 0.03" in command
    assert "--augment-scale" not in command and "--augment" not in TrainConfig().command()
    assert TrainConfig.from_dict(config.to_dict()) == config


AUGMENTED = TrainConfig(data=DataConfig(source="synthetic:frequency,samples=240,test_samples=60"),
                        model=ModelConfig(hidden_size=16), epochs=12, batch_size=16,
                        augment=AugmentConfig(slice=0.9, scale=0.1, jitter=0.05))


def test_an_augmented_run_learns_and_records_its_real_training_samples(tmp_path):
    result = api.train(AUGMENTED, tmp_path / "run", diagnose_run=False)
    last = result.fit.history[-1]
    assert last["val_accuracy"] >= 0.9
    # The recorded train loss is that of the delivered (last) model on the real samples, not on augmented ones.
    train = predict(tmp_path / "run", "train")
    real_loss = -np.log(train.probabilities[np.arange(len(train.labels)), train.labels]).mean()
    assert last["train_loss"] == pytest.approx(real_loss, rel=1e-5)
    plain = api.train(AUGMENTED.model_copy(update={"augment": AugmentConfig()}), tmp_path / "plain",
                      diagnose_run=False)
    assert plain.fit.history[-1]["train_loss_running"] != last["train_loss_running"]


def test_an_interrupted_augmented_run_resumes_to_exactly_the_uninterrupted_one(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSGAP_CHECKPOINT_SECONDS", "0")
    config = AUGMENTED.model_copy(update={"epochs": 5})
    api.train(config, tmp_path / "whole", diagnose_run=False)

    def stop_after_second(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    api.train(config, tmp_path / "run", diagnose_run=False, on_epoch_end=stop_after_second)
    resume(tmp_path / "run", diagnose_run=False)
    assert metrics_without_seconds(tmp_path / "run") == metrics_without_seconds(tmp_path / "whole")
    for key, value in checkpoint_weights(tmp_path / "whole").items():
        assert torch.equal(value, checkpoint_weights(tmp_path / "run")[key]), key
