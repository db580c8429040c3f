"""Data-parallel training: the loss weighting that makes DDP's averaged gradient the whole batch's, the gather
of per-sample records, and ``torchrun -m lossgap train`` with 2 CPU ranks matching a 1-process run."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from fixtures.torchrun import TIMEOUT, run_torchrun, torchrun_command, torchrun_env
from lossgap.cli.app import app, register_commands
from lossgap.training.distributed import Distributed, gather_records
from lossgap.training.trainer import _batch_objective, class_weight_tensor

register_commands()

#: The documented tolerance: epoch-mean losses of a 2-rank run and a 1-process run with the same flags.
LOSS_TOLERANCE = 1e-4


def gradient(model: nn.Module) -> torch.Tensor:
    return torch.cat([parameter.grad.reshape(-1) for parameter in model.parameters()])


def simulated_ddp(model, features, labels, batch, weights, world):
    """(averaged gradient, summed objective) of ``world`` ranks sharing ``batch`` as the trainer shares it."""
    model.zero_grad()
    summed, objectives = nn.CrossEntropyLoss(weight=weights, reduction="sum"), []
    for rank in range(world):
        index = batch.tensor_split(world)[rank]
        share = 1.0 if index.numel() else 0.0
        index = index if index.numel() else batch[:1]
        objective = _batch_objective(summed(model(features[index]), labels[index]), labels[batch], weights) * share
        objectives.append(objective.detach())
        # Each rank backpropagates world x its objective; DDP averages the gradients (the sum / world here).
        (objective * world / world).backward()
    return gradient(model).clone(), sum(objectives)


@pytest.mark.parametrize("balanced", [False, True])
@pytest.mark.parametrize("batch", [[0, 1, 2, 3, 4, 5, 6], [4, 5]], ids=["shares-3-2-2", "one-share-empty"])
def test_the_ranks_weighted_shares_average_to_the_gradient_of_the_whole_batch(balanced, batch):
    torch.manual_seed(0)
    model = nn.Linear(3, 3)
    features, labels = torch.randn(7, 3), torch.tensor([0, 0, 0, 0, 1, 2, 2])
    weights = class_weight_tensor(labels.numpy(), 3, torch.device("cpu")) if balanced else None
    batch = torch.tensor(batch)
    mean = nn.CrossEntropyLoss(weight=weights)(model(features[batch]), labels[batch])
    mean.backward()
    single = gradient(model).clone()
    averaged, objective = simulated_ddp(model, features, labels, batch, weights, world=3)
    assert torch.allclose(averaged, single, atol=1e-6)
    assert torch.allclose(objective, mean.detach(), atol=1e-6)


def test_an_uneven_split_without_the_weighting_would_give_another_gradient():
    # The test above can fail: averaging the ranks' own means (DDP's default) weights a 3-sample share like a
    # 4-sample one.
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    features, labels = torch.randn(7, 3), torch.tensor([0, 1, 0, 1, 1, 1, 0])
    nn.CrossEntropyLoss()(model(features), labels).backward()
    single = gradient(model).clone()
    model.zero_grad()
    for index in torch.arange(7).tensor_split(2):
        (nn.CrossEntropyLoss()(model(features[index]), labels[index]) / 2).backward()
    assert not torch.allclose(gradient(model), single, atol=1e-4)


class FakeGroup(Distributed):
    """A Distributed whose all_gather returns given per-rank payloads (no process group needed)."""

    def __init__(self, parts):
        super().__init__(rank=0, world_size=len(parts), local_rank=0, device=torch.device("cpu"))
        object.__setattr__(self, "parts", parts)

    def all_gather(self, payload):
        return self.parts


def records(ids, tag):
    ids = np.asarray(ids)
    values = np.full((ids.size, 4), float(tag), dtype=np.float32)
    return ids, ids % 2, values, None, 2


def test_gathered_records_hold_each_sample_once_sorted_the_lowest_rank_winning_a_padded_repeat():
    # DistributedSampler pads rank 1's share with sample 0 (already rank 0's).
    merged = gather_records({}, FakeGroup([{"val": records([4, 0, 2], 0)}, {"val": records([3, 1, 0], 1)}]))
    ids, labels, values, logits, classes = merged["val"]
    assert ids.tolist() == [0, 1, 2, 3, 4] and labels.tolist() == [0, 1, 0, 1, 0]
    assert values[:, 0].tolist() == [0, 1, 0, 1, 0] and logits is None and classes == 2


def test_a_sample_recorded_twice_by_one_rank_is_an_error_on_every_rank():
    with pytest.raises(ValueError, match="sample id 2 was recorded twice by one rank"):
        gather_records({}, FakeGroup([{"train": records([2, 2], 0)}, {"train": records([1], 1)}]))


def test_a_global_batch_smaller_than_the_processes_is_one_line_and_exit_2(monkeypatch, tmp_path):
    monkeypatch.setenv("WORLD_SIZE", "2")
    result = CliRunner().invoke(app, ["train", "synthetic:sum-sign,samples=60", "--batch-size", "1",
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "lossgap: error: --batch-size 1 is smaller than the 2 processes torchrun started; --batch-size is the "
        "global batch, split across processes: use --batch-size 2 or more, or fewer processes (--nproc-per-node)"]
    assert not (tmp_path / "run").exists()


def test_resume_under_torchrun_is_refused_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("WORLD_SIZE", "2")
    result = CliRunner().invoke(app, ["train", "--resume", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "lossgap: error: --resume does not run under torchrun yet; continue the run in one process with "
        "lossgap train --resume RUN (without torchrun)"]


# 203 samples: 162 train, 41 val; batches of 23 split 12 + 11 across the ranks, and the last batch holds a
# single sample, so rank 1's share of it is empty. Class weights make the per-sample weighting matter. A
# min-delta no improvement reaches makes early stopping (patience 2) end training after epoch 3 of 6: a rank
# deciding otherwise would wait in its next collective until the timeout.
FLAGS = ["synthetic:sum-sign,samples=203", "--epochs", "6", "--batch-size", "23", "--class-weights", "balanced",
         "--seed", "3", "--lr", "0.02", "--early-stopping", "2", "--min-delta", "5"]


def read_metrics(run: Path) -> dict[str, np.ndarray]:
    lines = (run / "metrics.csv").read_text().splitlines()
    header, rows = lines[0].split(","), [line.split(",") for line in lines[1:]]
    return {name: np.array([float(row[i]) for row in rows]) for i, name in enumerate(header)}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """(1-process run directory, 2-rank run directory, the 2-rank job's completed process) of FLAGS."""
    root = tmp_path_factory.mktemp("ddp")
    single = subprocess.run([*torchrun_command(processes=1)[:1], "-m", "lossgap", "train", *FLAGS, "--out",
                             root / "single"], capture_output=True, text=True, timeout=TIMEOUT, env=torchrun_env())
    assert single.returncode == 0, single.stderr
    job = run_torchrun("-m", "lossgap", "train", *FLAGS, "--out", root / "ddp")
    assert job.returncode == 0, job.stderr[-3000:]
    return root / "single", root / "ddp", job


def test_two_ranks_give_the_per_epoch_losses_of_one_process(two_runs):
    single, ddp, _ = two_runs
    one, two = read_metrics(single), read_metrics(ddp)
    assert one["epoch"].tolist() == two["epoch"].tolist() == [1, 2, 3]
    for column in ("train_loss", "val_loss", "train_loss_running", "grad_norm"):
        assert np.abs(one[column] - two[column]).max() <= LOSS_TOLERANCE, column
    for column in ("train_accuracy", "val_accuracy"):
        assert np.allclose(one[column], two[column], atol=1.5 / 41), column  # at most one sample flips
    assert json.loads((ddp / "config.json").read_text())["runtime"]["world_size"] == 2
    assert json.loads((single / "config.json").read_text())["runtime"]["world_size"] == 1


def test_two_ranks_record_every_sample_of_every_split_once_per_epoch(two_runs):
    single, ddp, _ = two_runs
    with np.load(single / "dynamics.npz") as one, np.load(ddp / "dynamics.npz") as two:
        assert sorted(one.files) == sorted(two.files)
        for split, size in (("train", 162), ("val", 41)):
            ids = two[f"{split}__sample_ids"]
            assert ids.shape == (size,) and np.unique(ids).size == size
            assert np.array_equal(ids, one[f"{split}__sample_ids"])
            assert np.array_equal(two[f"{split}__labels"], one[f"{split}__labels"])
            assert two[f"{split}__true_log_prob"].shape == (3, size)
            assert np.isfinite(two[f"{split}__true_log_prob"]).all()  # no epoch misses a sample


def test_only_rank_0_prints_and_both_stop_early_at_the_epoch_one_process_stops(two_runs):
    single, ddp, job = two_runs
    assert job.stdout.count("written to") == 1
    summary = json.loads((ddp / "summary.json").read_text())
    assert summary["status"] == "early_stopping" and summary["epochs_run"] == 3
    assert json.loads((single / "summary.json").read_text())["status"] == "early_stopping"
    assert (ddp / "checkpoints" / "best.pt").exists() and (ddp / "report.html").exists()
    assert not (ddp / "epochs").exists()


def worker_pids(launcher: int) -> list[int]:
    """The process ids of a torchrun's workers (its children), in start order."""
    children = Path(f"/proc/{launcher}/task/{launcher}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to find the ranks")
def test_sigterm_to_one_rank_stops_both_after_the_same_batch_and_keeps_the_finished_epochs(tmp_path):
    run = tmp_path / "run"
    job = subprocess.Popen(torchrun_command("-m", "lossgap", "train", "synthetic:sum-sign,samples=600",
                                            "--epochs", "400", "--batch-size", "8", "--out", run),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=torchrun_env())
    try:
        give_up = time.monotonic() + TIMEOUT
        while not (run / "metrics.csv").exists() and time.monotonic() < give_up and job.poll() is None:
            time.sleep(0.05)
        ranks = worker_pids(job.pid)
        assert len(ranks) == 2 and (run / "metrics.csv").exists()
        # Only rank 1 (which writes nothing) is told to stop: rank 0 must learn it through the agreement.
        import os

        os.kill(ranks[1], signal.SIGTERM)
        job.communicate(timeout=TIMEOUT)
    finally:
        if job.poll() is None:
            job.kill()
            job.communicate()
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted" and 1 <= summary["epochs_run"] < 400
    assert len(read_metrics(run)["epoch"]) == summary["epochs_run"]


def test_a_progress_display_whose_reader_went_away_stops_both_ranks_at_the_same_epoch(tmp_path):
    import os

    run, logs = tmp_path / "run", tmp_path / "logs"
    read_end, write_end = os.pipe()
    os.close(read_end)   # stderr, where rank 0 draws its bar, is a pipe nobody reads (`2>&1 | head -1`)
    try:
        # TTY_COMPATIBLE=1 draws the bar every epoch, so rank 0 finds its reader gone while training runs;
        # rank 1's streams go to a log file.
        subprocess.run(torchrun_command("--log-dir", logs, "--redirects", "1:3", "-m", "lossgap", "train",
                                        "synthetic:sum-sign,samples=300", "--epochs", "60", "--batch-size", "16",
                                        "--out", run),
                       stdout=subprocess.PIPE, stderr=write_end, text=True, timeout=TIMEOUT,
                       env={**os.environ, "OMP_NUM_THREADS": "1", "TTY_COMPATIBLE": "1"})
    finally:
        os.close(write_end)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "interrupted" and 1 <= summary["epochs_run"] < 60
    assert len(read_metrics(run)["epoch"]) == summary["epochs_run"]
    # Rank 1 stopped at the same epoch and left cleanly: before, rank 0 stopped alone, and rank 1 died in its
    # next collective ("Connection closed by peer") once rank 0 left.
    rank_1 = "".join(log.read_text() for log in logs.rglob("1/std*.log"))
    assert "Traceback" not in rank_1 and "Error" not in rank_1, rank_1[-2000:]



#: A rank whose gloo thread still holds a tensor when the rank ends: an asynchronous all-reduce of a large tensor
#: left running, the group destroyed (torch._dynamo, imported by creating an optimizer, keeps it alive anyway).
UNFINISHED_COLLECTIVE = """
import sys
import torch, torch.distributed as dist
from lossgap import exit_rank
dist.init_process_group("gloo")
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
big = torch.ones(2, 20_000_000)
work = dist.all_reduce(big, async_op=True)
del big, work
dist.destroy_process_group()
print("written", end="")
if sys.argv[1] == "exit_rank":
    exit_rank()
"""


def test_exit_rank_leaves_before_the_shutdown_where_a_gloo_thread_aborts_the_rank(tmp_path):
    script = tmp_path / "unfinished_collective.py"
    script.write_text(UNFINISHED_COLLECTIVE)
    control = run_torchrun(script, "return", processes=1)
    if "terminate called" not in control.stderr:
        pytest.skip("this torch no longer aborts at shutdown with gloo work in flight")
    assert control.returncode != 0
    job = run_torchrun(script, "exit_rank", processes=1)
    # No abort, and the print that was never flushed is kept.
    assert job.returncode == 0 and job.stdout == "written", job.stderr[-2000:]


@pytest.mark.parametrize(("code", "status", "stderr"), [(None, 0, ""), (3, 3, ""), ("no data", 1, "no data\n")])
def test_exit_rank_exits_with_the_status_sys_exit_would(code, status, stderr):
    job = subprocess.run([*torchrun_command(processes=1)[:1], "-c",
                          f"from lossgap import exit_rank; print('kept', end=''); exit_rank({code!r})"],
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert (job.returncode, job.stdout, job.stderr) == (status, "kept", stderr)
