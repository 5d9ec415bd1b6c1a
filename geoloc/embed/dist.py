"""Rank/world for `torchrun` launches: each rank embeds its share, rank 0 merges.

Without torchrun (no WORLD_SIZE > 1 in the environment) this is a single process and `barrier`
does nothing, so the same code runs on a laptop and on a cluster.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as torch_dist


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world_size > 1:
            torch_dist.barrier()


@contextlib.contextmanager
def distributed(device: torch.device) -> Iterator[DistContext]:
    """Join the torchrun process group if launched by torchrun; one GPU per local rank."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        yield DistContext(0, 1, device)
        return
    rank = int(os.environ["RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    # ranks wait at the final barrier for the slowest one, which may be hours behind on the web
    torch_dist.init_process_group(backend, timeout=datetime.timedelta(hours=12))
    try:
        yield DistContext(rank, world_size, device)
    finally:
        torch_dist.destroy_process_group()
