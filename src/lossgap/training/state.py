"""Everything a training run needs to continue exactly where it stopped, as plain tensors and numbers.

``training_state(...)`` is written into ``checkpoints/last.pt`` after every epoch and loads with
``weights_only=True``: model, optimiser and scheduler state, the best-epoch tracker (with the best weights),
every random number generator that training draws from (torch's, CUDA's when used, numpy's, Python's and the
shuffling generator), the optimisation observer's step counters, the weight average (``--ema``) and the metrics
rows so far. ``restore`` puts them back, so a resumed run continues the same random streams and produces the
same numbers.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from lossgap.errors import RunDirError

#: Version of the state layout; a checkpoint with another one cannot be resumed.
STATE_VERSION = 1


def rng_states(generator: torch.Generator, device: torch.device) -> dict:
    """Every generator training may draw from, as weights_only-loadable values."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    version, python_state, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else [],
        "numpy": {"kind": kind, "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "position": int(position),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": version, "state": list(python_state), "gauss_next": gauss_next},
        "shuffle": generator.get_state(),
    }


def restore_rng_states(states: dict, generator: torch.Generator, device: torch.device) -> None:
    """Put back what :func:`rng_states` saved."""
    torch.set_rng_state(states["torch"])
    if device.type == "cuda" and states["cuda"]:
        torch.cuda.set_rng_state_all(states["cuda"])
    numpy_state = states["numpy"]
    np.random.set_state((numpy_state["kind"], numpy_state["keys"].numpy().astype(np.uint32), numpy_state["position"],
                         numpy_state["has_gauss"], numpy_state["cached"]))
    python_state = states["python"]
    random.setstate((python_state["version"], tuple(python_state["state"]), python_state["gauss_next"]))
    generator.set_state(states["shuffle"])


def training_state(*, epoch: int, model, optimizer, scheduler, tracker, generator: torch.Generator,
                   device: torch.device, history: list[dict], observer=None, average=None) -> dict:
    """The state after 1-based ``epoch`` (see the module docstring); ``average`` is the run's ``WeightAverage``."""
    return {
        "version": STATE_VERSION,
        "epoch": int(epoch),
        "model": {key: value.detach().cpu().clone() for key, value in model.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "tracker": tracker.state_dict(),
        "rng": rng_states(generator, device),
        "observer": observer.state_dict() if observer is not None else None,
        "average": average.state_dict() if average is not None else None,
        "history": [dict(row) for row in history],
    }


def restore(state: dict, *, model, optimizer, scheduler, tracker, generator: torch.Generator,
            device: torch.device, observer=None, average=None) -> list[dict]:
    """Load ``state`` into the objects; returns the metrics rows of the finished epochs."""
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"training state version {state.get('version')} (this lossgap resumes {STATE_VERSION})")
    saved_average = state.get("average")
    if (average is None) != (saved_average is None):
        asked, saved = ("with", "without") if average is not None else ("without", "with")
        raise RunDirError(f"the options ask to train {asked} --ema but the training state was saved {saved} a "
                          "weight average; resume with the options the run was trained with, or train a new run")
    if average is not None:
        average.load_state_dict(saved_average)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    tracker.load_state_dict(state["tracker"])
    if observer is not None and state.get("observer") is not None:
        observer.load_state_dict(state["observer"])
    restore_rng_states(state["rng"], generator, device)
    return [dict(row) for row in state["history"]]


def delivered_weights(state: dict) -> dict[str, torch.Tensor]:
    """The weights the run would deliver at ``state``'s epoch: the weight average's with ``--ema``, else the model's."""
    average = state.get("average")
    return average["weights"] if average is not None else state["model"]
