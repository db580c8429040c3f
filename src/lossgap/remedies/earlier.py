"""What earlier ``lossgap remedy`` commands of a run left that a new one can use.

Replicate runs that finished with the very configuration, seed and thread count a job would train are taken
as they are instead of being trained again (an interrupted command loses only its unfinished runs), and the
candidates of an earlier ``remedy.json`` are kept beside the new ones when their seeds are the same, so that
``--only a`` then ``--only b`` compares a, b and the baseline together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from lossgap.errors import LossgapError
from lossgap.parallel import JobOutcome, TrainJob
from lossgap.remedies.outcome import Outcome
from lossgap.run import rundir
from lossgap.run.writer import CONTROL_ROLE


def finished_outcome(job: TrainJob, threads: int) -> JobOutcome | None:
    """The outcome ``job`` would have, read from its run directory, when a run there finished (summary.json
    with a status other than "interrupted") with the same options (config.json's ``train``), the same role
    (run or permuted-label control) and the same torch thread count; None otherwise (then it is trained)."""
    if not (job.out / rundir.CONFIG_FILE).exists() or not (job.out / rundir.SUMMARY_FILE).exists():
        return None
    try:
        config, summary = rundir.read_config(job.out), rundir.read_summary(job.out)
        metrics = rundir.read_metrics(job.out)
    except (LossgapError, OSError, ValueError):
        return None
    role = CONTROL_ROLE if job.permute_labels else "run"
    status = summary.get("status")
    if (config.get("train") != job.config.to_dict() or config.get("role", "run") != role
            or config.get("runtime", {}).get("torch_threads") != threads or status in (None, "interrupted")):
        return None
    epochs = summary.get("epochs_run")
    columns = list(metrics)
    history = tuple({key: (int(metrics[key][index]) if key == "epoch" else float(metrics[key][index]))
                     for key in columns} for index in range(len(metrics.get("epoch", ()))))
    if not history or epochs != len(history):
        return None
    return JobOutcome(label=job.label, run_dir=job.out, summary=summary, history=history,
                      best_epoch=summary.get("best_epoch"), delivered_epoch=summary.get("delivered_epoch"),
                      stop_reason=str(status))


@dataclass(frozen=True)
class Earlier:
    """The candidates of an earlier remedy.json that stay (with the same seeds), and a note on what was
    dropped (None when nothing was)."""

    candidates: tuple[Outcome, ...] = ()
    more_data: dict | None = None
    note: str | None = None


def earlier_results(path: Path, *, seeds: tuple[int, ...], baseline: dict, replaced: set[str],
                    curve: bool) -> Earlier:
    """What of the remedy.json at ``path`` a new comparison keeps: its candidates not named in ``replaced``
    (those are run again) and its learning curve unless ``curve`` (run again), provided they were run with
    the same ``seeds`` on the same baseline configuration (``baseline``: its ``to_dict()``); otherwise none,
    with a note saying why."""
    if not path.exists():
        return Earlier()
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        kept = tuple(Outcome.from_dict(entry) for entry in payload.get("candidates", ())
                     if entry.get("name") not in replaced)
        old_seeds = tuple(payload.get("seeds") or _seeds_of(payload))
        old_baseline = payload.get("baseline", {}).get("config")
    except (OSError, LossgapError, KeyError, TypeError, ValueError, AttributeError):
        return Earlier(note=f"{path} is unreadable; its earlier results are replaced")
    more_data = payload.get("more_data") if not curve else None
    if not kept and more_data is None:
        return Earlier()
    # The learning curve is named with the candidates it is dropped with (trial 20: a rerun with another --replicates
    # had dropped a 37-run curve while the note listed only the candidates).
    names = ", ".join([outcome.name for outcome in kept] + (["more_data"] if more_data is not None else []))
    if old_seeds != seeds:
        return Earlier(note=f"earlier results ({names}) used seeds {_spell(old_seeds)}, this comparison "
                            f"{_spell(seeds)}: they are dropped from remedy.json (rerun them with the same "
                            f"--replicates to compare them again)")
    if old_baseline != baseline:
        return Earlier(note=f"earlier results ({names}) were compared with another baseline configuration (the "
                            "run was retrained since?): they are dropped from remedy.json")
    return Earlier(kept, more_data)


def _spell(seeds: tuple[int, ...]) -> str:
    return ",".join(str(seed) for seed in seeds) or "unknown"


def _seeds_of(payload: dict) -> tuple[int, ...]:
    """Seeds of a remedy.json written before it listed them: the baseline's seed + 0..K-1."""
    seed, replicates = payload["baseline"]["config"]["seed"], payload["replicates"]
    return tuple(int(seed) + offset for offset in range(int(replicates)))
