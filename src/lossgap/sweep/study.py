"""Create or continue a study, run its trials in one or several processes, summarise the best."""

from __future__ import annotations

import multiprocessing
import re
from dataclasses import dataclass
from pathlib import Path

import optuna

from lossgap.errors import ConfigError, LossgapError
from lossgap.io import write_json
from lossgap.sweep.objective import make_objective
from lossgap.sweep.space import SearchSpace
from lossgap.training.config import TrainConfig

SWEEP_FILE = "sweep.json"
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


class StorageError(LossgapError):
    """The study's storage cannot be reached or used."""


@dataclass(frozen=True)
class SweepSettings:
    """How a sweep runs: storage, study name, trials to add, workers, pruner and time limit."""

    out: Path
    trials: int
    workers: int = 1
    storage: str | None = None
    study: str = "lossgap"
    pruner: str = "median"
    timeout: float | None = None

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ConfigError(f"--trials must be at least 1, got {self.trials}")
        if self.workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {self.workers}")
        if self.pruner not in ("median", "hyperband", "none"):
            raise ConfigError(f"unknown --pruner '{self.pruner}'; choose median, hyperband or none")

    @property
    def storage_url(self) -> str:
        """The given storage, or a SQLite file in the output directory."""
        return self.storage or f"sqlite:///{(self.out / 'sweep.db').resolve()}"


def masked(url: str) -> str:
    """``url`` with any password replaced by ***."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def make_pruner(name: str, epochs: int) -> optuna.pruners.BasePruner:
    """Median (after 2 finished trials and 2 epochs), Hyperband over the epochs, or none."""
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(2, epochs))
    return optuna.pruners.NopPruner()


def open_study(settings: SweepSettings, space: SearchSpace, base: TrainConfig) -> optuna.Study:
    """Create the study or load it; refuses a study whose stored search space or data differ."""
    settings.out.mkdir(parents=True, exist_ok=True)
    try:
        storage = optuna.storages.RDBStorage(settings.storage_url, heartbeat_interval=None)
        study = optuna.create_study(study_name=settings.study, storage=storage, direction="minimize",
                                    load_if_exists=True, sampler=optuna.samplers.TPESampler(seed=base.seed),
                                    pruner=make_pruner(settings.pruner, base.epochs))
    except Exception as error:  # sqlalchemy and drivers raise many types for a bad URL or server
        reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        raise StorageError(f"cannot open study storage {masked(settings.storage_url)} ({reason}); check the URL, "
                           "that the server is running and the database exists") from None
    stored = study.user_attrs.get("search_space")
    wanted = {"space": space.to_dict(), "data": base.data.source}
    if stored is None:
        study.set_user_attr("search_space", wanted)
    elif stored != wanted:
        raise ConfigError(f"study '{settings.study}' already exists with another search space or data; choose "
                          "another --study name or the same ranges and data")
    return study


def _worker(settings: SweepSettings, space: SearchSpace, base: TrainConfig, trials: int) -> None:
    """One worker process: one torch thread, its share of the trials."""
    import torch

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(settings, space, base)
    study.optimize(make_objective(base, space), n_trials=trials, timeout=settings.timeout)


def run_sweep(base: TrainConfig, space: SearchSpace, settings: SweepSettings, on_trial=None) -> optuna.Study:
    """Add ``settings.trials`` finished trials to the study (split exactly among the workers); write sweep.json.

    ``on_trial(study, trial)`` is called after each trial of an in-process sweep (a progress bar). On Ctrl-C
    the finished trials stay in the storage and sweep.json is still written.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(settings, space, base)
    shares = [settings.trials // settings.workers + (1 if index < settings.trials % settings.workers else 0)
              for index in range(settings.workers)]
    try:
        if settings.workers == 1:
            study.optimize(make_objective(base, space), n_trials=settings.trials, timeout=settings.timeout,
                           callbacks=[on_trial] if on_trial else None)
        else:
            context = multiprocessing.get_context("spawn")
            processes = [context.Process(target=_worker, args=(settings, space, base, share))
                         for share in shares if share]
            for process in processes:
                process.start()
            try:
                for process in processes:
                    process.join()
            except KeyboardInterrupt:
                for process in processes:
                    process.terminate()
                    process.join()
                raise
    finally:
        write_summary(study, settings, base)
    return study


def best_command(study: optuna.Study) -> str | None:
    """The best finished trial's configuration as a ``lossgap train`` command."""
    completed = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        return None
    best = min(completed, key=lambda trial: trial.value)
    return "lossgap train " + " ".join(TrainConfig.from_dict(best.user_attrs["config"]).to_cli_args())


def write_summary(study: optuna.Study, settings: SweepSettings, base: TrainConfig) -> Path:
    """Write ``sweep.json``: study, storage (password masked), every trial, the best one and its command."""
    trials = [{"number": trial.number, "state": trial.state.name, "value": trial.value, "params": trial.params,
               "epochs_reported": len(trial.intermediate_values)} for trial in study.trials]
    completed = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]
    best = min(completed, key=lambda trial: trial.value) if completed else None
    target = settings.out / SWEEP_FILE
    write_json(target, {"study": settings.study, "storage": masked(settings.storage_url), "direction": "minimize",
                        "objective": "best val loss (nats)", "data": base.data.source, "trials": trials,
                        "best": {"number": best.number, "value": best.value, "params": best.params} if best else None,
                        "best_command": best_command(study)})
    return target
