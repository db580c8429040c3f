"""Train the suite's runs (in parallel worker processes, cached on disk) through lossgap's public API.

Each case's data are written as an .npz with a fixed validation split and trained with ``lossgap.api.train``
exactly as a user's file would be, without the diagnosis (the suite diagnoses afterwards, so the rules can
be re-scored on the same runs without retraining). A run directory is reused when its ``case.json`` holds the
same fingerprint (data set, fault, seed, configuration, suite version) and the run finished.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from fault_suite.cases import Case

#: Bump when the construction of cases changes, so cached runs are rebuilt.
SUITE_VERSION = 4
CASE_FILE = "case.json"


def fingerprint(case: Case) -> str:
    """A hash of everything that decides the case's run."""
    payload = json.dumps({"version": SUITE_VERSION, "dataset": case.dataset, "fault": case.fault,
                          "seed": case.seed, "changes": case.changes()}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def run_dir(cache: Path, case: Case) -> Path:
    """Where the case's run lives under ``cache``."""
    return cache / "runs" / case.key


def is_cached(cache: Path, case: Case) -> bool:
    """True when the case's finished run is on disk with the current fingerprint."""
    directory = run_dir(cache, case)
    meta = directory / CASE_FILE
    if not meta.exists() or not (directory / "summary.json").exists():
        return False
    return json.loads(meta.read_text()).get("fingerprint") == fingerprint(case)


def train_case(case: Case, cache: str) -> dict:
    """Build the case's data, train it into its run directory, write case.json; returns the case metadata."""
    import torch

    from lossgap.api import train
    from lossgap.data.npz import write_npz
    from lossgap.training.config import apply_changes
    from lossgap.training.config import TrainConfig

    torch.set_num_threads(1)
    root = Path(cache)
    built = case.build()
    data_path = root / "data" / f"{case.key.replace('/', '_')}.npz"
    data_path.parent.mkdir(parents=True, exist_ok=True)
    write_npz({"train": built.train, "val": built.val, **({"test": built.test} if built.test is not None else {})},
              data_path)
    config = apply_changes(TrainConfig(), {"data.source": str(data_path), **case.changes()})
    out = run_dir(root, case)
    started = time.perf_counter()
    result = train(config, out, overwrite=True, diagnose_run=False)
    meta = {"fingerprint": fingerprint(case), "dataset": case.dataset, "fault": case.fault, "seed": case.seed,
            "truth": case.spec.truth, "form": case.spec.form, "description": case.spec.description,
            "flipped_ids": [int(i) for i in built.flipped_ids], "train_samples": built.train.num_samples,
            "val_samples": built.val.num_samples, "seconds": time.perf_counter() - started,
            "status": result.summary.get("status")}
    (out / CASE_FILE).write_text(json.dumps(meta, indent=1))
    return meta


def _init_worker() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"


def train_cases(cases: list[Case], cache: Path, *, workers: int = 2, rebuild: bool = False,
                progress=print) -> float:
    """Train every case not cached (all with ``rebuild``) over ``workers`` processes; returns wall seconds."""
    todo = [case for case in cases if rebuild or not is_cached(cache, case)]
    started = time.perf_counter()
    if not todo:
        return 0.0
    progress(f"training {len(todo)} of {len(cases)} runs on {workers} worker(s)")
    if workers <= 1:
        for index, case in enumerate(todo, 1):
            meta = train_case(case, str(cache))
            progress(f"  [{index}/{len(todo)}] {case.key} ({meta['seconds']:.1f} s)")
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker) as pool:
            futures = {pool.submit(train_case, case, str(cache)): case for case in todo}
            for index, future in enumerate(_as_completed(futures), 1):
                meta = future.result()
                progress(f"  [{index}/{len(todo)}] {futures[future].key} ({meta['seconds']:.1f} s)")
    return time.perf_counter() - started


def _as_completed(futures):
    from concurrent.futures import as_completed

    return as_completed(futures)
