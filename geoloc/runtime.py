"""Where the work runs: device, seeds, CPU threads and the torchrun process group.

Every step takes its device from `runtime.device` and its thread budget from here, so the rules
(one thread for small heads, a core left for image decoding, one GPU per local rank) live once.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import os
import random
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from geoloc.errors import GeolocError


def resolve_device(spec: str = "auto"):
    """Map `auto|cpu|cuda|cuda:N` to a torch.device; asking for CUDA without one is a user error."""
    import torch

    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise GeolocError(
                f"runtime.device is {spec!r} but no CUDA device is available here; "
                "use runtime.device=auto or cpu"
            )
        index = int(spec.split(":", 1)[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise GeolocError(
                f"runtime.device is {spec!r} but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
        return torch.device(spec)
    raise GeolocError(f"runtime.device must be auto, cpu, cuda or cuda:N, not {spec!r}")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a rerun with the same params gives the same result on CPU."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with `threads` torch intra-op threads (None or 0: leave torch's setting).

    Small heads and fits gain nothing from threads, and on a busy machine spinning OpenMP threads
    make them 10x slower; one thread also gives the same numbers on any machine.
    """
    import torch

    if not threads:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def blas_threads(threads: int):
    """Context manager capping NumPy/SciPy BLAS threads (small products: hand-offs cost more)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(threads)


def decode_share_threads(requested: int, world_size: int = 1) -> int:
    """Torch threads per process when images are decoded beside the model: `requested`, or (0)
    this process's share of the cores minus one, which the decode threads use. OpenMP threads
    that must wait for a busy core spin and slow every layer down, so oversubscribing costs far
    more than one idle core."""
    if requested:
        return requested
    return max(1, (os.cpu_count() or 1) // world_size - 1)


def die_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies, so a killed `dvc repro`
    never leaves its stage running on, re-parented to PID 1 (a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


@dataclass(frozen=True)
class DistContext:
    """This process's place in a torchrun launch (rank 0 of 1 without one)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: object = field(default=None, compare=False)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world_size > 1:
            import torch.distributed as torch_dist

            torch_dist.barrier()


@contextlib.contextmanager
def distributed(device, timeout_hours: float = 12.0) -> Iterator[DistContext]:
    """Join the torchrun process group when launched by torchrun (WORLD_SIZE > 1), one GPU per
    local rank (nccl) or gloo on CPU; a single process otherwise. Leaves the group at the end.

    The long default timeout lets ranks wait at a final barrier for the slowest one, which may be
    hours behind when fetching photos from the web.
    """
    import torch
    import torch.distributed as torch_dist

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        yield DistContext(device=device)
        return
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    joined = not torch_dist.is_initialized()
    if joined:
        torch_dist.init_process_group(
            "nccl" if device.type == "cuda" else "gloo",
            timeout=datetime.timedelta(hours=timeout_hours),
        )
    try:
        yield DistContext(torch_dist.get_rank(), world_size, local_rank, device)
    finally:
        if joined:
            torch_dist.destroy_process_group()
