"""Cross-rank tensors for the contrastive loss under `torchrun` (DDP); identities otherwise.

Joining and leaving the process group is `geoloc.runtime.distributed`. Negatives are gathered
across ranks *with* gradient, so the loss of the global batch and its gradient equal those of one
process holding the whole batch.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def active() -> bool:
    """True inside a process group of more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank in the group (0 without one): where its rows sit in a gather."""
    return dist.get_rank() if active() else 0


class _GatherWithGrad(torch.autograd.Function):
    """all_gather forward; backward sums every rank's gradient and returns this rank's slice."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.rows = len(x)
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)
        start = dist.get_rank() * ctx.rows
        return grad[start : start + ctx.rows]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate `x` from every rank in rank order; gradients flow back to each rank's slice."""
    if not active():
        return x
    return _GatherWithGrad.apply(x)


@torch.no_grad()
def gather(x: torch.Tensor) -> torch.Tensor:
    """Concatenate `x` from every rank in rank order, without gradient."""
    if not active():
        return x
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)
