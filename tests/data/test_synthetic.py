"""Synthetic tasks: the article's shapes by default, options honoured, labels built as documented."""

import numpy as np
import pytest

from lossgap.data.synthetic import generate_synthetic, parse_synthetic
from lossgap.errors import DataError


def test_random_labels_default_to_the_articles_shapes():
    data = generate_synthetic("synthetic:random-labels").data
    assert data.features.shape == (100, 20, 1) and data.num_classes == 2
    assert 30 < data.class_counts()[0] < 70


def test_same_string_same_data_other_seed_other_data():
    first = generate_synthetic("synthetic:random-labels,features=5").data
    assert np.array_equal(first.features, generate_synthetic("synthetic:random-labels,features=5").data.features)
    other = generate_synthetic("synthetic:random-labels,features=5,seed=1").data
    assert not np.array_equal(first.features, other.features)


def test_sum_sign_labels_are_the_sign_of_the_valid_sum():
    data = generate_synthetic("synthetic:sum-sign,samples=300,min_length=5").data
    valid = np.arange(data.max_length)[None, :] < data.lengths[:, None]
    assert data.has_variable_lengths
    assert np.array_equal(data.labels, ((data.features[:, :, 0] * valid).sum(axis=1) > 0).astype(int))
    assert (data.features[~valid] == 0).all()


def test_shares_and_label_noise_are_exact():
    generated = generate_synthetic("synthetic:sum-sign,samples=1000,classes=3,shares=90/5/5,noise=0.3")
    clean = generate_synthetic("synthetic:sum-sign,samples=1000,classes=3,shares=90/5/5").data
    assert clean.class_counts().tolist() == [900, 50, 50]
    assert len(generated.flipped_ids) == 300
    changed = np.flatnonzero(generated.data.labels != clean.labels)
    assert np.array_equal(np.sort(generated.flipped_ids), changed)


def test_test_samples_make_a_separate_test_split():
    generated = generate_synthetic("synthetic:frequency,samples=60,test_samples=40,classes=3")
    assert generated.data.num_samples == 60 and generated.test.num_samples == 40
    assert generated.test.split == "test"
    assert len(np.intersect1d(generated.data.ids, generated.test.ids)) == 0


def test_shares_are_percentages_or_fractions_within_one_percent_of_their_whole():
    for shares in ("33/33/33", "0.9/0.05/0.05", "90/5/5"):
        assert parse_synthetic(f"synthetic:random-labels,classes=3,shares={shares}").shares is not None


@pytest.mark.parametrize("source, message", [
    ("synthetic:nothing", "unknown synthetic task"),
    ("synthetic:random-labels,colour=3", "not an option"),
    ("synthetic:random-labels,samples=many", "needs a number"),
    ("synthetic:random-labels,classes=1", "at least 2"),
    ("synthetic:random-labels,noise=1.5", "noise"),
    ("synthetic:random-labels,classes=3,shares=50/50", "shares"),
    ("synthetic:random-labels,shares=50/60", "shares sum to 110; give percentages that sum to 100"),
    ("synthetic:random-labels,shares=0.5/0.4", "shares sum to 0.9;"),
    ("synthetic:random-labels,min_length=40", "min_length"),
])
def test_bad_specs_are_refused(source, message):
    with pytest.raises(DataError, match=message):
        parse_synthetic(source)
