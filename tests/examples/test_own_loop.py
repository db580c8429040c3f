"""examples/own_loop.py: a GRU trained in a plain PyTorch loop is recorded, written as a run and diagnosed.

The example is run once through its ``main()`` (4 epochs, about two seconds); its ``train`` is wrapped so the
test also gets the loop's final model and the loop's own per-epoch figures to compare the run directory with.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
import torch

from fixtures.examples import load_example as load_example_file
import lossgap
from lossgap import read_run

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "own_loop.py"
EPOCHS = 4


def load_example():
    """The example as a module (registered in sys.modules: its dataclass needs that to resolve annotations)."""
    return load_example_file("own_loop.py", "lossgap_example_own_loop")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """(example module, LoopResult, printed output) of one ``main(["--out", DIR, "--epochs", "4"])``."""
    example = load_example()
    results = []
    train = example.train

    def keep_result(*args, **kwargs):
        results.append(train(*args, **kwargs))
        return results[-1]

    example.train = keep_result  # main() looks train up at call time
    printed = io.StringIO()
    out = tmp_path_factory.mktemp("own_loop") / "run"
    with contextlib.redirect_stdout(printed):
        run_dir = example.main(["--out", str(out), "--epochs", str(EPOCHS)])
    assert run_dir == out and len(results) == 1
    return example, results[0], printed.getvalue()


def test_the_run_reads_back_with_train_and_val_figures_for_every_epoch(finished):
    _, result, _ = finished
    record = read_run(result.run_dir)
    assert record.num_epochs == EPOCHS
    assert record.class_names == ["negative", "positive"]
    assert record.metrics["epoch"].tolist() == list(range(1, EPOCHS + 1))
    for split, size in (("train", 480), ("val", 120)):
        for figure in ("loss", "accuracy", "balanced_accuracy"):
            column = record.metrics[f"{split}_{figure}"]
            assert column.shape == (EPOCHS,) and np.isfinite(column).all()
        assert record.dynamics[split].num_samples == size
        assert record.dynamics[split].seen.all()


def test_recorded_val_values_equal_a_direct_evaluation_of_the_final_model(finished):
    example, result, _ = finished
    _, val_set = example.make_datasets(seed=0)
    ids, x, y = val_set.tensors
    result.model.eval()
    with torch.inference_mode():
        direct = torch.log_softmax(result.model(x), dim=1)[torch.arange(len(y)), y].numpy()
    val = read_run(result.run_dir).dynamics["val"]
    order = np.argsort(ids.numpy())
    assert np.array_equal(val.sample_ids, ids.numpy()[order])
    assert np.array_equal(val.labels, y.numpy()[order])
    assert np.allclose(val.true_log_prob[-1], direct[order], rtol=0, atol=1e-5)


def test_metrics_csv_equals_the_loops_own_figures(finished):
    _, result, _ = finished
    metrics = read_run(result.run_dir).metrics
    # 120 val samples: any disagreement would be at least 1/120 apart, so equality is checked exactly.
    assert metrics["val_accuracy"].tolist() == pytest.approx(result.val_accuracy, abs=1e-12)
    # The train figures come from the same training-pass logits the loop's loss was computed from.
    assert metrics["train_loss"].tolist() == pytest.approx(result.train_loss, abs=1e-5)
    assert result.val_accuracy[-1] > 0.75  # the GRU learned the task (majority class is about 52%)


def test_main_prints_the_diagnosis_of_the_run(finished):
    if not hasattr(lossgap, "diagnose"):
        pytest.skip("diagnosis not built yet")
    _, result, printed = finished
    diagnosis = lossgap.diagnose(result.run_dir)
    assert diagnosis.to_text() in printed
    assert "no_signal" not in [verdict.cause for verdict in diagnosis.verdicts]  # the labels are learnable
    assert all(0.0 <= verdict.confidence <= 1.0 for verdict in diagnosis.verdicts)


def test_the_observe_line_records_the_grus_optimisation_every_epoch(finished):
    _, result, _ = finished
    observed = read_run(result.run_dir).observations
    assert observed.num_epochs == EPOCHS and observed.layer_names == ("gru.l0",)
    assert observed.tensor_names == tuple(name for name, _ in result.model.named_parameters())
    assert observed.steps.tolist() == [15] * EPOCHS  # 480 train samples in batches of 32
    assert observed.measured_steps.tolist() == [15, 2, 2, 2]  # dense first epoch, then one step in 8
    assert np.isfinite(observed.grad_norm).all() and np.isfinite(observed.update_ratio).all()
    assert np.isfinite(observed.gate_saturation[0]).all()  # gates run at the end of the first epoch


def test_the_lossgap_lines_are_the_ones_the_docstring_lists():
    lines = [line.strip() for line in EXAMPLE.read_text().splitlines() if line.rstrip().endswith("# lossgap")]
    assert any(line.startswith("recorder.observe(model, optimizer)") for line in lines)
    assert len(lines) == 8  # import, Recorder, observe, two updates, end_epoch, save, diagnose


def test_the_example_describes_its_model_and_optimizer(finished):
    _, result, _ = finished
    settings = read_run(result.run_dir).config["settings"]
    assert settings["model"]["kind"] == "gru" and settings["model"]["hidden_size"] == result.model.gru.hidden_size
    assert settings["optimizer"]["name"] == "adam" and settings["optimizer"]["lr"] == 0.005
