"""Data-parallel training across processes (``torchrun``): who this process is, which samples it handles,
gathering per-sample records, and agreeing on a stop.

``torchrun --nproc-per-node K`` starts K processes with ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` set;
:func:`setup` joins them into one process group (gloo on CPU, nccl on CUDA). Every rank draws the same
shuffled order from the same seed, so each rank knows the whole global batch and trains on its contiguous
share of it (:meth:`Distributed.shard`); per-sample records are gathered so that every rank sees every
sample (:func:`gather_records`), and a stop signal received by any rank stops all of them at the same batch
(:meth:`Distributed.agree_stop`). Rank 0 is the only one that writes files.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
import torch

from lossgap.errors import ConfigError, LossgapError

#: Set by :func:`request_stop` (the signal handler under DDP); read by :meth:`Distributed.agree_stop`.
_STOP_REQUESTED = [False]


def launched_world_size() -> int:
    """How many processes the launcher (torchrun) started for this job: ``WORLD_SIZE``, 1 when unset."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        raise ConfigError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not a number of processes; "
                          "launch with torchrun --nproc-per-node K") from None


@dataclass(frozen=True, eq=False)
class Distributed:
    """This process's place in a data-parallel job.

    ``device`` is where collective tensors live (the training device: CUDA for nccl, CPU for gloo);
    ``group`` is the torch process group (None: the default group).
    """

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    group: Any = None

    @property
    def is_writer(self) -> bool:
        """True on rank 0, the only rank that writes files."""
        return self.rank == 0

    def shard(self, index: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous share of a global batch's ``index`` (sizes differ by at most one; the last
        ranks get the smaller shares, possibly empty when the batch holds fewer samples than ranks)."""
        return index.tensor_split(self.world_size)[self.rank]

    def shard_range(self, num_samples: int) -> tuple[int, int]:
        """[start, stop) of this rank's contiguous share of ``num_samples`` samples (for evaluation passes)."""
        base, extra = divmod(num_samples, self.world_size)
        start = self.rank * base + min(self.rank, extra)
        return start, start + base + (1 if self.rank < extra else 0)

    def sum(self, value: torch.Tensor) -> torch.Tensor:
        """``value`` summed over all ranks (a new tensor on every rank)."""
        import torch.distributed as dist

        total = value.detach().clone().to(self.device)
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=self.group)
        return total

    def all_gather(self, payload: Any) -> list[Any]:
        """Every rank's picklable ``payload``, in rank order, on every rank."""
        import torch.distributed as dist

        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, payload, group=self.group)
        return gathered

    def agree_stop(self) -> None:
        """Raise KeyboardInterrupt on every rank when any rank was asked to stop (see :func:`request_stop`).

        Every rank calls it at the same points (after each batch and epoch), so all stop at the same batch
        and no rank is left waiting in a collective.
        """
        flag = torch.tensor([1.0 if _STOP_REQUESTED[0] else 0.0], device=self.device)
        if self.sum(flag).item() > 0:
            _STOP_REQUESTED[0] = False
            raise KeyboardInterrupt

    def barrier(self) -> None:
        """Wait until every rank got here."""
        import torch.distributed as dist

        dist.barrier(group=self.group)


def clear_stop() -> None:
    """Forget a stop asked before this training began (one that arrived as the previous training ended, after
    its last agreement point, must not stop the next one in the same process)."""
    _STOP_REQUESTED[0] = False


def request_stop(signum=None, frame=None) -> None:
    """Signal handler under DDP: remember the stop; training ends at the next point all ranks agree on."""
    _STOP_REQUESTED[0] = True


#: Signals that stop a data-parallel run: the terminal's Ctrl-C and torchrun's (or a cluster's) SIGTERM.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def setup(device_name: str) -> Distributed | None:
    """Join the job torchrun launched (once per process); returns this rank's :class:`Distributed`, or None
    when this process runs alone (no ``WORLD_SIZE`` > 1). ConfigError (one line) when the setup cannot do
    DDP: torch built without distributed support, nccl missing, or fewer CUDA devices than local ranks.
    """
    if launched_world_size() <= 1:
        return None
    import torch.distributed as dist

    if not dist.is_available():
        raise ConfigError("this torch build has no torch.distributed, so it cannot train data-parallel; "
                          "run without torchrun or install a torch build with distributed support")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_name.startswith("cuda"):
        if not torch.cuda.is_available() or torch.cuda.device_count() <= local_rank:
            raise ConfigError(f"--device cuda under torchrun needs one CUDA device per process on each machine; "
                              f"local rank {local_rank} has none (this machine sees "
                              f"{torch.cuda.device_count() if torch.cuda.is_available() else 0}); "
                              "lower --nproc-per-node or use --device cpu")
        if not dist.is_nccl_available():
            raise ConfigError("--device cuda under torchrun needs NCCL, which this torch build lacks; "
                              "use --device cpu (gloo) or a CUDA build of torch with NCCL")
        torch.cuda.set_device(local_rank)
        device, backend = torch.device("cuda", local_rank), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, device_id=device if backend == "nccl" else None)
    return Distributed(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank,
                       device=device)


def current(group: Any = None) -> Distributed | None:
    """The :class:`Distributed` of an already initialised process group with more than one rank (e.g. the one
    Lightning or your own loop set up), or None. Collective tensors go to the current CUDA device under nccl."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size(group) <= 1:
        return None
    backend = dist.get_backend(group)
    device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
    return Distributed(rank=dist.get_rank(group), world_size=dist.get_world_size(group),
                       local_rank=int(os.environ.get("LOCAL_RANK", "0")), device=device, group=group)


def teardown(wait: bool = True) -> None:
    """Leave the process group (at the end of a torchrun job; nothing happens outside one). With ``wait``
    (a job that finished normally) every rank first waits for the others: a rank that destroys the group
    while rank 0 still writes the run can abort in gloo's teardown ("terminate called without an active
    exception"). After an error the ranks leave at once (a barrier could wait for a rank that died)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def exit_rank(code: int | str | None = 0) -> NoReturn:
    """End this process now with exit status ``code`` (as ``sys.exit`` reads it: None is 0, a string is
    printed to stderr and gives 1), stdout and stderr flushed, skipping the interpreter's shutdown. Never returns.

    Call it last in each rank of a torchrun job, after :func:`teardown` (or ``destroy_process_group()``).
    Torch's own modules (anything that imports ``torch._dynamo``, as creating an optimizer does) keep the gloo
    process group alive after ``destroy_process_group()``, so its worker threads live until Python shuts down;
    one that releases the tensors of a last collective then needs the GIL, which a finalising interpreter no
    longer hands out, and the process aborts (SIGABRT, "terminate called without an active exception"):
    torchrun reports the job as failed although every file was written. Seen in about 1 in 10 jobs of
    ``examples/ddp_own_loop.py`` on a busy 2-core machine; ``tests/training/test_distributed.py`` builds it.
    """
    import sys

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass   # a closed pipe or stream: there is nothing left to save
    os._exit(status)


#: One split's records on one rank: (ids, labels, per-sample values (n, 4), logits or None, number of classes).
SplitRecords = tuple[np.ndarray, np.ndarray, np.ndarray, "np.ndarray | None", int]


def gather_records(local: dict[str, SplitRecords], distributed: Distributed) -> dict[str, SplitRecords]:
    """Every rank's records of one epoch merged, identical on every rank; returns split -> records with ids
    sorted.

    A sample recorded by more than one rank is kept once, from the lowest rank: Lightning's (and torch's)
    DistributedSampler pads the ranks' shares with repeated samples so they have equal length. A sample
    recorded twice by the same rank is an error, as without DDP (ValueError, raised on every rank alike).
    """
    parts = distributed.all_gather(local)
    merged: dict[str, SplitRecords] = {}
    for split in dict.fromkeys(name for part in parts for name in part):
        pieces = [part[split] for part in parts if split in part]
        for ids, *_ in pieces:
            ordered = np.sort(ids, kind="stable")
            if ordered.shape[0] > 1 and (ordered[1:] == ordered[:-1]).any():
                duplicate = ordered[1:][ordered[1:] == ordered[:-1]][0].item()  # a plain number or str
                raise ValueError(f"Recorder: sample id {duplicate!r} was recorded twice by one rank in an epoch "
                                 f"of {split!r}; record each sample once per epoch")
        ids = np.concatenate([piece[0] for piece in pieces])
        # np.unique returns the ids sorted and, for each, its first position: rank order breaks the tie.
        unique_ids, first = np.unique(ids, return_index=True)
        labels = np.concatenate([piece[1] for piece in pieces])[first]
        values = np.concatenate([piece[2] for piece in pieces])[first]
        logits = (None if pieces[0][3] is None
                  else np.concatenate([piece[3] for piece in pieces])[first])
        merged[split] = (unique_ids, labels, values, logits, pieces[0][4])
    return merged


def on_writer(distributed: Distributed | None, action: Callable[[], Any]) -> Any:
    """Run ``action`` on rank 0 only (alone: just run it); returns its result there, None on other ranks.

    A one-line error (LossgapError) or file error it raises is raised on every rank, so no rank goes on into
    training alone and waits for the others forever.
    """
    if distributed is None:
        return action()
    result, error = None, None
    if distributed.is_writer:
        try:
            result = action()
        except (LossgapError, OSError) as raised:
            error = raised
    first = distributed.all_gather(error)[0]
    if first is not None:
        raise first
    return result


def check_batch_size(batch_size: int) -> None:
    """ConfigError (one line) when the global ``batch_size`` is smaller than the processes torchrun started."""
    world = launched_world_size()
    if batch_size < world:
        raise ConfigError(f"--batch-size {batch_size} is smaller than the {world} processes torchrun started; "
                          f"--batch-size is the global batch, split across processes: use --batch-size {world} "
                          "or more, or fewer processes (--nproc-per-node)")
