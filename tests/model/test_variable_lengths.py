"""Variable lengths end to end (JapaneseVowels, 7-29 steps): a prediction never depends on its batch mates."""

import numpy as np
import pytest
import torch

pytest.importorskip("aeon")

from lossgap import DataConfig, TrainConfig, read_run, train  # noqa: E402
from lossgap.data import load_splits  # noqa: E402
from lossgap.model import LSTMClassifier  # noqa: E402


@pytest.fixture(scope="module")
def vowels():
    return load_splits("aeon:JapaneseVowels", seed=0).splits


@pytest.mark.parametrize("layers, bidirectional, readout, patch_length",
                         [(1, False, "last", 1), (2, True, "last", 1), (1, True, "max", 3), (2, False, "mean", 2)])
def test_logits_alone_equal_logits_in_a_mixed_batch(vowels, layers, bidirectional, readout, patch_length):
    torch.manual_seed(0)
    model = LSTMClassifier(vowels.num_features, 16, vowels.num_classes, num_layers=layers, dropout=0.1,
                           bidirectional=bidirectional, readout=readout, patch_length=patch_length).eval()
    part = vowels.val
    order = np.argsort(part.lengths)
    chosen = np.r_[order[:5], order[-5:]]   # the shortest and the longest sequences together
    assert part.lengths[chosen].min() < part.lengths[chosen].max()
    features = torch.from_numpy(part.features[chosen])
    lengths = torch.from_numpy(part.lengths[chosen])
    with torch.inference_mode():
        together = model(features, lengths)
        for row in range(len(chosen)):
            length = int(lengths[row])
            alone = model(features[row:row + 1, :length], lengths[row:row + 1])
            assert torch.allclose(alone, together[row:row + 1], atol=1e-5)


def test_recorded_val_values_equal_a_direct_evaluation_sample_by_sample(tmp_path):
    result = train(TrainConfig(data=DataConfig(source="aeon:JapaneseVowels"), epochs=2, batch_size=32), tmp_path / "r")
    record = read_run(tmp_path / "r")
    splits = load_splits("aeon:JapaneseVowels", seed=0).splits
    model = result.model.eval()
    val = record.dynamics["val"]
    position = {sample_id: index for index, sample_id in enumerate(splits.val.ids.tolist())}
    with torch.inference_mode():
        for column, sample_id in enumerate(val.sample_ids.tolist()[:40]):
            index = position[sample_id]
            length = int(splits.val.lengths[index])
            x = torch.from_numpy(splits.val.features[index:index + 1, :length])
            log_prob = torch.log_softmax(model(x, torch.tensor([length])), dim=1)[0, splits.val.labels[index]]
            assert abs(float(log_prob) - float(val.true_log_prob[-1, column])) < 1e-5
