"""Where a study lives: open its storage, create or continue it, and refuse one made with other settings."""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path
from typing import Any

import optuna

from lossgap.errors import ConfigError, LossgapError
from lossgap.options import value_at
from lossgap.sweep.space import SEARCHED_PATHS, SearchSpace
from lossgap.training.config import TrainConfig, option_name

#: Study user attribute holding the search space and base options the study was created with.
STUDY_ATTR = "lossgap_sweep"
#: Default storage file inside the output directory.
DEFAULT_DATABASE = "sweep.db"
#: A trial whose process died (machine lost, kill -9) stops sending heartbeats; after the grace period
#: the next trial started anywhere marks it failed instead of leaving it running forever.
HEARTBEAT_SECONDS = 60
GRACE_SECONDS = 180


class StorageError(LossgapError):
    """The study's storage cannot be reached or used."""


def default_storage_url(out: Path) -> str:
    """The SQLite file ``OUT/sweep.db`` as an SQLAlchemy URL (absolute, so workers find it from any directory)."""
    return f"sqlite:///{(Path(out) / DEFAULT_DATABASE).resolve()}"


def masked(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***`` (safe to print and to write to sweep.json)."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """An RDB storage for ``url`` (SQLite, PostgreSQL, MySQL); StorageError (one line) when it cannot be used.

    A SQLite file's directory is created if missing. Heartbeats are on, so trials of a killed process are
    marked failed after a grace period rather than staying "running".
    """
    engine_kwargs: dict[str, Any] = {}
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        missing = missing_driver(parsed)
        if missing:
            raise StorageError(missing)
        if parsed.drivername.startswith("sqlite"):
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            # Several local workers write to one file: wait for the lock instead of failing after 5 s.
            engine_kwargs["connect_args"] = {"timeout": 60}
        elif parsed.drivername.startswith("postgresql"):
            # A firewalled host would otherwise hang for minutes before the user hears anything.
            engine_kwargs["connect_args"] = {"connect_timeout": 10}
        with warnings.catch_warnings():
            # Heartbeats are marked experimental; the feature is what prevents orphaned running trials.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return _rdb_storage(url, engine_kwargs)
    except StorageError:
        raise
    except Exception as error:  # SQLAlchemy and the drivers raise many types for a bad URL or an absent server
        raise StorageError(f"cannot open study storage {masked(url)} ({_first_line(error)}); check the URL, that "
                           "the database server is running and reachable, and that the database exists") from None


#: Python module of a database driver -> the package that installs it, where the names differ.
DRIVER_PACKAGES = {"psycopg2": "psycopg2-binary", "psycopg": "psycopg[binary]", "MySQLdb": "mysqlclient",
                   "pymysql": "PyMySQL", "mysql": "mysql-connector-python", "cx_Oracle": "cx-Oracle"}


def missing_driver(parsed) -> str | None:
    """The one-line fix when the database driver of SQLAlchemy URL ``parsed`` is not installed, else None
    (an unknown dialect is left to the storage's own error)."""
    try:
        dialect = parsed.get_dialect()
    except Exception:  # an unknown scheme: the storage's own message says so
        return None
    try:
        dialect.import_dbapi()
    except ModuleNotFoundError as error:
        module = (error.name or "").split(".")[0] or parsed.get_driver_name()
        package = DRIVER_PACKAGES.get(module, module)
        return (f"the database driver '{module}' that --storage {masked(parsed.render_as_string(hide_password=False))}"
                f" needs is not installed; install it beside lossgap (pip install '{package}') or name an "
                "installed driver in the URL (such as postgresql+psycopg2://...)")
    except Exception:
        return None
    return None


#: Attempts at opening a storage whose tables another process is creating at the same moment.
SCHEMA_ATTEMPTS = 5


def _rdb_storage(url: str, engine_kwargs: dict[str, Any]) -> optuna.storages.RDBStorage:
    """Optuna's RDBStorage for ``url``. Two commands started at once against an empty database (two machines
    joining a new PostgreSQL study) both create Optuna's tables, and the slower one fails on a duplicate
    type or table: the tables then exist, so it tries again after a pause."""
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs,
                                              heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS)
        except (IntegrityError, ProgrammingError) as error:
            concurrent = isinstance(error, IntegrityError) or "already exists" in str(error)
            if not concurrent or attempt == SCHEMA_ATTEMPTS - 1:
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def open_study(storage: optuna.storages.BaseStorage, name: str, space: SearchSpace, base: TrainConfig, *,
               sampler: optuna.samplers.BaseSampler | None = None,
               pruner: optuna.pruners.BasePruner | None = None, storage_label: str = "") -> optuna.Study:
    """Create study ``name`` or continue it; returns the study (direction: minimize).

    The search space and the base options are stored on a new study. Continuing a study made with another
    space or other base options raises ConfigError naming each difference, since its trials' values would
    not be comparable with new ones.
    """
    try:
        study = optuna.create_study(study_name=name, storage=storage, direction="minimize", load_if_exists=True,
                                    sampler=sampler, pruner=pruner)
    except Exception as error:
        raise StorageError(f"cannot create or load study '{name}' in {storage_label or 'the storage'} "
                           f"({_first_line(error)}); check the storage URL and its permissions") from None
    wanted = {"space": space.to_dict(), "settings": objective_settings(base), "base": base.to_dict()}
    stored = study.user_attrs.get(STUDY_ATTR)
    if stored is None:
        if study.directions != [optuna.study.StudyDirection.MINIMIZE] or study.get_trials(deepcopy=False):
            raise ConfigError(f"study '{name}' in {storage_label or 'the storage'} was not made by lossgap sweep; "
                              "choose another --study name")
        study.set_user_attr(STUDY_ATTR, wanted)
        return study
    differences = SearchSpace.from_dict(stored["space"]).differences(space)
    # Rebuilt from the stored base rather than read as stored: options added since the study was made then
    # take their defaults (what the study's trials ran with) instead of counting as differences.
    differences += _setting_differences(objective_settings(TrainConfig.from_dict(stored["base"])),
                                        wanted["settings"])
    if differences:
        raise ConfigError(f"study '{name}' already exists with another search space or settings (stored vs now: "
                          f"{'; '.join(differences)}); rerun with the stored options or choose another --study name")
    return study


def stored_base(study: optuna.Study) -> TrainConfig:
    """The base configuration study ``study`` was created with."""
    return TrainConfig.from_dict(study.user_attrs[STUDY_ATTR]["base"])


def stored_space(study: optuna.Study) -> SearchSpace:
    """The search space study ``study`` was created with."""
    return SearchSpace.from_dict(study.user_attrs[STUDY_ATTR]["space"])


def objective_settings(base: TrainConfig) -> dict[str, Any]:
    """The base options that decide what a trial's value means (data, split, epochs, early stopping...).

    Left out: the searched hyperparameters, options that change speed but not results (device,
    evaluation batch size, how train and test are recorded), and the refit (never part of a trial).
    """
    payload = base.to_dict()
    for path in (*SEARCHED_PATHS.values(), "device", "eval_batch_size", "record_train", "record_test", "refit"):
        *parents, leaf = path.split(".")
        (value_at(payload, ".".join(parents)) if parents else payload).pop(leaf)
    return payload


def _setting_differences(stored: dict, wanted: dict, prefix: str = "") -> list[str]:
    differences = []
    for key in sorted(set(stored) | set(wanted)):
        old, new = stored.get(key), wanted.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            differences += _setting_differences(old, new, f"{prefix}{key}.")
        elif old != new:
            option = "DATA" if key == "source" else option_name(tuple(f"{prefix}{key}".split(".")))
            differences.append(f"{option} {old} vs {new}")
    return differences


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__
