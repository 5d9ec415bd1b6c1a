"""Sampled classes for the training losses, so a batch costs the same whatever the species count.

A full softmax (or SINR's sum over every species) costs O(batch x classes) per step, so an epoch
grows as records x species. With more classes than the budget (`identify.sampled_classes`), each
batch scores only its own classes (its rows' targets, always kept) and the distinct classes of
`budget` uniform draws with replacement. A drawn class that is not one of the batch's own was
included with probability pi = 1 - (1 - 1/C)^budget, so weighting it by 1/pi (a logit shift of
-log pi, the "logQ" correction of sampled softmax, Jean et al., ACL 2015) makes every sum over
the sampled classes an unbiased (Horvitz-Thompson) estimate of the sum over all classes: exactly
so for SINR's loss, which is such a sum, and for the softmax's normaliser inside the log. With
no more classes than the budget nothing is sampled and the losses are the full, exact ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ClassSample:
    """The classes one batch scores: its own first, then the drawn negatives."""

    classes: torch.Tensor  # (K,) class indices
    log_inclusion: torch.Tensor  # (K,) log probability each was included: 0 for the batch's own
    targets: torch.Tensor  # (B,) position in `classes` of each row's target

    @property
    def weights(self) -> torch.Tensor:
        """1 / inclusion probability of each class: sums weighted by it estimate full sums."""
        return torch.exp(-self.log_inclusion)


class ClassSampler:
    """Seeded class draws for one training run; `None` from `sample` means "use every class".

    It has its own generator, so the batch order (and, with few classes, every result) is the
    same as without sampling."""

    def __init__(self, n_classes: int, budget: int, seed: int):
        self.n_classes, self.budget = n_classes, budget
        stream = np.random.SeedSequence([seed, n_classes, budget]).generate_state(1)[0]
        self.generator = torch.Generator().manual_seed(int(stream))
        kept = -math.expm1(budget * math.log1p(-1.0 / n_classes)) if n_classes > 1 else 1.0
        self.log_kept = math.log(kept)  # log pi: a class is drawn at least once in `budget`

    @property
    def exact(self) -> bool:
        return self.n_classes <= self.budget

    def sample(self, targets: torch.Tensor) -> ClassSample | None:
        """The classes for a batch with these targets, or None when every class is scored."""
        if self.exact:
            return None
        device = targets.device
        own, positions = torch.unique(targets.cpu(), return_inverse=True)
        drawn = torch.unique(
            torch.randint(self.n_classes, (self.budget,), generator=self.generator)
        )
        negatives = drawn[~torch.isin(drawn, own)]
        log_inclusion = torch.cat(
            [torch.zeros(len(own)), torch.full((len(negatives),), self.log_kept)]
        )
        return ClassSample(
            classes=torch.cat([own, negatives]).to(device),
            log_inclusion=log_inclusion.to(device),
            targets=positions.to(device),
        )


def sampled_cross_entropy(
    logits: torch.Tensor, sample: ClassSample, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy over the sampled classes' logits (B, K), each shifted by -log pi so the
    softmax's normaliser estimates the full one; `weight` is per class of all C, as for
    `F.cross_entropy`."""
    return torch.nn.functional.cross_entropy(
        logits - sample.log_inclusion,
        sample.targets,
        weight=None if weight is None else weight[sample.classes],
    )
