"""What a lossgap run writes about its data: val and test samples whose inputs copy a training sample's."""

import json

import numpy as np

import lossgap
from lossgap.data import DataConfig
from lossgap.training.config import TrainConfig


def test_config_json_lists_val_copies_of_training_inputs_and_the_diagnosis_names_them(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 6, 2))
    y = np.arange(60) % 2
    x_val = rng.normal(size=(20, 6, 2))
    x_val[:8] = x[:8]                  # 8 val rows repeat training rows, with their labels
    x_test = rng.normal(size=(10, 6, 2))
    x_test[0] = x[30]
    path = tmp_path / "d.npz"
    np.savez(path, X=x, y=y, X_val=x_val, y_val=np.arange(20) % 2, X_test=x_test, y_test=np.arange(10) % 2)
    lossgap.train(TrainConfig(data=DataConfig(source=str(path)), epochs=2, batch_size=16), tmp_path / "run")
    data = json.loads((tmp_path / "run" / "config.json").read_text())["data"]
    shared = data["shared_inputs"]
    # The same distribution in every split: no shift.
    assert set(data["input_shift"]) == {"val", "test"} and not data["input_shift"]["val"]["shifted"]
    val_ids = lossgap.read_run(tmp_path / "run").dynamics["val"].sample_ids[:8].tolist()
    assert shared == {"train": {"count": 0, "distinct": 60},
                      "val": {"count": 8, "same_label": 8, "ids": val_ids, "repeated": 0, "distinct": 20},
                      "test": {"count": 1, "same_label": 1, "repeated": 0, "distinct": 10}}
    diagnosis = lossgap.diagnose(tmp_path / "run")
    assert diagnosis.headline.startswith("Val shares inputs with training (see the note): 8 of the 20 val samples "
                                          "are exact copies")
    assert any(note.startswith("1 test sample(s) are exact copies") for note in diagnosis.limitations)
    assert not any("repeat another training sample's inputs" in note for note in diagnosis.limitations)


def test_training_rows_repeated_are_counted_and_noted(tmp_path):
    # 40 distinct rows, each 5 times (lossgap carves val from whole groups of them): overfitting 1.00 had read "collect
    # more data" without a word that the model saw 40 examples.
    rng = np.random.default_rng(1)
    x = np.repeat(rng.normal(size=(40, 6, 2)), 5, axis=0)
    path = tmp_path / "d.npz"
    np.savez(path, X=x, y=np.repeat(np.arange(40) % 2, 5))
    lossgap.train(TrainConfig(data=DataConfig(source=str(path)), epochs=2, batch_size=16), tmp_path / "run")
    shared = json.loads((tmp_path / "run" / "config.json").read_text())["data"]["shared_inputs"]
    assert shared["train"] == {"count": 160, "distinct": 32}
    assert shared["val"] == {"count": 0, "same_label": 0, "ids": [], "repeated": 40, "distinct": 8}
    notes = lossgap.diagnose(tmp_path / "run").limitations
    assert any(note.startswith("160 of the 160 training samples repeat another training sample's inputs exactly (32 "
                               "distinct inputs in all)") for note in notes), notes
    assert any(note.startswith("40 of the 40 val samples repeat another val sample's inputs exactly (8 distinct "
                               "inputs in all)") for note in notes), notes


def test_config_json_measures_what_the_lengths_say_of_the_labels_and_the_diagnosis_warns(tmp_path):
    # Train's lengths say the class (class 0 is 3-5 steps long, class 1 10-12), val's are drawn alike for both.
    rng = np.random.default_rng(0)
    y, y_val = np.arange(80) % 2, np.arange(40) % 2
    lengths = np.where(y == 0, rng.integers(3, 6, 80), rng.integers(10, 13, 80))
    path = tmp_path / "d.npz"
    np.savez(path, X=rng.normal(size=(80, 12, 1)), y=y, lengths=lengths, X_val=rng.normal(size=(40, 12, 1)),
             y_val=y_val, lengths_val=rng.integers(3, 13, 40))
    lossgap.train(TrainConfig(data=DataConfig(source=str(path)), epochs=3, batch_size=16), tmp_path / "run")
    shortcut = json.loads((tmp_path / "run" / "config.json").read_text())["data"]["length_shortcut"]
    assert shortcut["train"] == {"accuracy": 1.0, "majority": 0.5, "samples": 80} and shortcut["bins"] == 4
    assert shortcut["val"]["samples"] == 40 and shortcut["val"]["accuracy"] < 0.75
    assert lossgap.diagnose(tmp_path / "run").headline.startswith("Val's sequence lengths do not carry train's labels")
