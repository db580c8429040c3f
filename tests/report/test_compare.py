"""Comparing runs: the table's figures are each run's own, the page is one self-contained file."""

from lossgap import DataConfig, TrainConfig, read_run, train
from lossgap.report import comparison_rows, write_comparison


def test_comparison_rows_and_page(tmp_path):
    runs = []
    for lr in (0.01, 0.001):
        config = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=120"), epochs=4, batch_size=32,
                             optimizer={"lr": lr})
        runs.append(train(config, tmp_path / f"lr{lr}").run_dir)
    rows = comparison_rows({path.name: read_run(path) for path in runs})
    for row, path in zip(rows, runs):
        record = read_run(path)
        assert row["best_val_loss"] == min(record.metrics["val_loss"]) and row["epochs"] == 4
    page = write_comparison(runs, tmp_path / "cmp.html").read_text()
    assert "data:image/png;base64," in page and "lr0.001" in page
    assert "src=\"http" not in page and "<script" not in page and "<link" not in page
