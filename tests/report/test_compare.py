"""Comparing runs: each run's own best and final figures, one overlay figure, one self-contained page."""

import json
from pathlib import Path

import numpy as np
import pytest

from lossgap.errors import ConfigError
from lossgap.report import comparison_rows, overlay_figure, write_comparison
from lossgap.report.compare import read_runs, run_names
from lossgap.run.rundir import RunRecord


def record(path: Path, val_loss, val_accuracy, *, test=None, cause=None) -> RunRecord:
    """A run read back, with chosen val curves; ``cause`` writes a diagnosis.json ("none" = healthy)."""
    path.mkdir(parents=True, exist_ok=True)
    if cause is not None:
        verdicts = [] if cause == "none" else [{"cause": cause, "confidence": 0.9}]
        (path / "diagnosis.json").write_text(json.dumps({"verdicts": verdicts}))
    epochs = len(val_loss)
    metrics = {"epoch": np.arange(1, epochs + 1), "val_loss": np.array(val_loss, dtype=float),
               "val_accuracy": np.array(val_accuracy, dtype=float)}
    return RunRecord(path=path, config={}, metrics=metrics,
                     summary={"delivered_epoch": epochs, "test": test}, dynamics={})


def test_comparison_rows_take_each_runs_own_best_and_final_figures(tmp_path):
    runs = {
        "a": record(tmp_path / "a", [0.9, 0.5, 0.7, 0.8], [0.5, 0.8, 0.7, 0.6],
                    test={"accuracy": 0.75, "loss": 0.6}, cause="overfitting"),
        "b": record(tmp_path / "b", [0.7, 0.6, np.nan], [0.6, 0.65, np.nan], cause="none"),
        "c": record(tmp_path / "c", [np.nan, np.nan], [np.nan, np.nan]),
    }
    a, b, c = comparison_rows(runs)
    assert a == {"run": "a", "path": str(tmp_path / "a"), "epochs": 4, "best_epoch": 2, "best_val_loss": 0.5,
                 "best_val_accuracy": 0.8, "final_val_loss": 0.8, "final_val_accuracy": 0.6, "delivered_epoch": 4,
                 "delivered_val_loss": 0.8, "delivered_val_accuracy": 0.6, "test_accuracy": 0.75, "test_loss": 0.6, "main_cause": "overfitting"}
    assert b["best_epoch"] == 2 and b["final_val_loss"] is None and b["main_cause"] == "none"
    assert b["test_accuracy"] is None
    assert c["best_epoch"] is None and c["best_val_loss"] is None and c["main_cause"] is None


def test_comparison_rows_give_the_delivered_models_figures_not_only_the_last_epochs(tmp_path):
    # An early-stopped run delivers its restored epoch: "final val accuracy 0.6" described a model nobody has.
    early = record(tmp_path / "early", [0.9, 0.5, 0.7, 0.8], [0.5, 0.8, 0.7, 0.6])
    early.summary["delivered_epoch"] = 2
    own_loop = record(tmp_path / "own", [0.9, 0.5, 0.7], [0.5, 0.8, 0.7])
    del own_loop.summary["delivered_epoch"]           # an own loop keeps its last epoch's weights
    restored, last = comparison_rows({"early": early, "own": own_loop})
    assert (restored["delivered_epoch"], restored["delivered_val_loss"], restored["delivered_val_accuracy"]) == \
        (2, 0.5, 0.8)
    assert restored["final_val_accuracy"] == 0.6
    assert (last["delivered_epoch"], last["delivered_val_loss"], last["delivered_val_accuracy"]) == (3, 0.7, 0.7)


def test_overlay_figure_draws_every_run_and_survives_one_without_val(tmp_path, kit):
    runs = {"a": record(tmp_path / "a", [0.9, 0.5, 0.7], [0.5, 0.8, 0.7]),
            "$b$": record(tmp_path / "b", [0.8, 0.6, 0.55, 0.5, 0.45], [0.5, 0.6, 0.65, 0.7, 0.72]),
            "empty": record(tmp_path / "c", [np.nan], [np.nan])}
    png = overlay_figure(runs)
    width, _ = kit.png_size(png)
    assert width == 900 and kit.png_is_not_blank(png)


def test_run_names_are_the_shortest_unique_path_endings(tmp_path):
    same_leaf = [record(tmp_path / "x" / "run", [1.0], [0.5]), record(tmp_path / "y" / "run", [1.0], [0.5])]
    assert run_names(same_leaf) == ["x/run", "y/run"]
    distinct = [record(tmp_path / "lr0.01", [1.0], [0.5]), record(tmp_path / "lr0.1", [1.0], [0.5])]
    assert run_names(distinct) == ["lr0.01", "lr0.1"]


@pytest.fixture
def two_runs(tmp_path, kit):
    first = kit.write_run(tmp_path / "<u>first", kit.refining(epochs=12), class_names="abc")
    second = kit.write_run(tmp_path / "second", kit.refining(epochs=20), class_names="abc",
                           test={"epoch": 20, "accuracy": 0.5, "loss": 1.0})
    return first, second


def test_the_page_is_self_contained_and_escapes_run_names(two_runs, tmp_path, kit):
    page = write_comparison(list(two_runs), tmp_path / "cmp.html")
    html = page.read_text(encoding="utf-8")
    assert "&lt;u&gt;first" in html and "<u>" not in html
    lowered = html.lower()
    assert "<script" not in lowered and "<link" not in lowered and 'src="http' not in lowered
    assert html.count("data:image/png;base64,") == 1
    rows = comparison_rows(read_runs(list(two_runs)))
    assert [row["epochs"] for row in rows] == [12, 20] and rows[1]["test_accuracy"] == 0.5
    assert ">0.5<" in html  # the test accuracy column


def test_bad_requests_are_one_line_errors(two_runs, tmp_path):
    with pytest.raises(ConfigError, match="no run to compare"):
        write_comparison([], tmp_path / "cmp.html")
    with pytest.raises(ConfigError, match="is a directory"):
        write_comparison(list(two_runs), tmp_path)
    with pytest.raises(ConfigError, match="given twice"):
        write_comparison([two_runs[0], two_runs[0]], tmp_path / "cmp.html")


def test_the_comparison_opens_in_chromium(two_runs, tmp_path, chromium_page):
    opened = chromium_page(write_comparison(list(two_runs), tmp_path / "cmp.html"))
    page = opened.page
    assert page.evaluate("Array.from(document.images).map(image => image.naturalWidth)") == [900]
    assert page.evaluate("document.querySelectorAll('main u').length") == 0
    assert page.get_by_text("<u>first").first.is_visible()
    assert opened.errors == [] and opened.dialogs == []


def test_the_test_column_appears_only_when_a_run_has_a_test_result(tmp_path, kit):
    runs = [kit.write_run(tmp_path / name, kit.refining(epochs=6), class_names="abc") for name in ("a", "b")]
    html = write_comparison(runs, tmp_path / "cmp.html").read_text(encoding="utf-8")
    assert "test accuracy" not in html


def test_the_page_shows_only_the_settings_that_differ_and_links_each_report(tmp_path, kit):
    from lossgap.report.compare import settings_diff
    from lossgap.training.config import TrainConfig, apply_changes

    base = TrainConfig().to_dict()
    regularised = apply_changes(TrainConfig(), {"model.dropout": 0.2, "optimizer.weight_decay": 1e-4}).to_dict()
    plain = kit.write_run(tmp_path / "runs" / "plain", kit.refining(epochs=8), class_names="abc", train_config=base)
    tuned = kit.write_run(tmp_path / "runs" / "tuned", kit.refining(epochs=8), class_names="abc",
                          train_config=regularised)
    (tuned / "report.html").write_text("<html></html>")
    own_loop = kit.write_run(tmp_path / "runs" / "mine", kit.refining(epochs=8), class_names="abc")
    rows = settings_diff(read_runs([plain, tuned]))
    assert rows == [{"option": "--dropout", "cells": ["0", "0.2"]},
                    {"option": "--weight-decay", "cells": ["0", "0.0001"]}]
    # A run from the user's own loop has no lossgap options: every option differs, shown as "-" ...
    assert all(row["cells"][2] == "-" for row in settings_diff(read_runs([plain, tuned, own_loop])))
    # ... except those its Recorder described.
    described = kit.write_run(tmp_path / "runs" / "tiny", kit.refining(epochs=8), class_names="abc",
                              settings={"model": {"hidden_size": 1, "dropout": 0.0},
                                        "optimizer": {"name": "adamw", "lr": 0.005, "weight_decay": 10.0}})
    rows = {row["option"]: row["cells"] for row in settings_diff(read_runs([own_loop, described]))}
    assert rows["--hidden"] == ["-", "1"] and rows["--weight-decay"] == ["-", "10"] and rows["--lr"] == ["-", "0.005"]
    assert "--batch-size" not in rows  # described by neither: "-" in both, so no difference to show
    page = write_comparison([plain, tuned], tmp_path / "pages" / "cmp.html")
    html = page.read_text(encoding="utf-8")
    assert 'id="settings-diff"' in html and "<code>--dropout</code>" in html and "--hidden" not in html
    assert 'href="../runs/tuned/report.html"' in html and "runs/plain/report.html" not in html
