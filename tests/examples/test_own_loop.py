"""The own-loop example: a GRU trained in a plain loop is recorded, written and diagnosed."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import torch

from lossgap import read_run

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "own_loop.py"


def load_example():
    spec = importlib.util.spec_from_file_location("own_loop", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_own_loop_run_reads_back_matches_the_model_and_is_diagnosed(tmp_path, capsys):
    example = load_example()
    run_dir = example.main(["--out", str(tmp_path / "run"), "--epochs", "6"])
    record = read_run(run_dir)
    assert record.num_epochs == 6 and len(record.metrics["val_loss"]) == 6
    assert record.class_names == ["negative", "positive"]
    diagnosis = json.loads((run_dir / "diagnosis.json").read_text())
    assert isinstance(diagnosis["verdicts"], list)
    assert "Main cause" in capsys.readouterr().out or diagnosis["healthy"]
    # The model learned the task: the last epoch's val accuracy is far above chance.
    assert record.metrics["val_accuracy"][-1] > 0.8


def test_recorded_val_values_equal_a_direct_evaluation_of_the_final_model(tmp_path):
    example = load_example()
    torch.manual_seed(0)
    x, y = example.make_data(100, seed=1)
    model = example.GRUClassifier(2, 8, 2).eval()
    recorder = example.Recorder()
    with torch.inference_mode():
        for start in range(0, 100, 30):  # uneven batches, ids out of order
            batch = torch.arange(start, min(start + 30, 100)).flip(0)
            recorder.update("val", batch, model(x[batch]), y[batch])
        recorder.end_epoch()
        direct = torch.log_softmax(model(x), dim=1)[torch.arange(100), y].numpy()
    record = recorder.dynamics()["val"]
    assert np.allclose(record.true_log_prob[0], direct, atol=1e-5)
