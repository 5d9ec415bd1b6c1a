"""Linear and MLP classification heads on frozen embeddings, with an imbalance remedy.

Remedies for long-tailed classes (chosen by name):
- `none`: plain cross-entropy.
- `class_balanced`: cross-entropy weighted by the inverse "effective number" of samples per class,
  (1 - beta) / (1 - beta^n_c) (Cui et al., "Class-Balanced Loss Based on Effective Number of
  Samples", CVPR 2019).
- `logit_adjust`: the logit-adjusted loss, training on logits + tau * log(prior) and predicting
  with the raw logits, which targets the balanced error (Menon et al., "Long-tail learning via
  logit adjustment", ICLR 2021).
"""

from __future__ import annotations

from typing import get_args

import numpy as np
import torch
from torch import nn

from geoloc.errors import GeolocError
from geoloc.identify.batches import shuffled_batches
from geoloc.identify.sampled import ClassSample, ClassSampler, sampled_cross_entropy
from geoloc.params import ClassifierHead, IdentifyParams, ImbalanceRemedy
from geoloc.runtime import torch_threads

HEADS = get_args(ClassifierHead)
REMEDIES = get_args(ImbalanceRemedy)


def build_head(kind: str, in_dim: int, n_classes: int, hidden: int) -> nn.Module:
    """A linear layer or a one-hidden-layer MLP (GELU, dropout) producing class logits."""
    if kind == "linear":
        return nn.Linear(in_dim, n_classes)
    if kind == "mlp":
        return nn.Sequential(
            nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(0.2), nn.Linear(hidden, n_classes)
        )
    raise GeolocError(f"unknown classifier head {kind!r}; allowed: {', '.join(HEADS)}")


def class_balanced_weights(counts: np.ndarray, beta: float) -> np.ndarray:
    """Cui et al. weights (1 - beta) / (1 - beta^n), normalised to mean 1 over present classes."""
    counts = np.asarray(counts, dtype=np.float64)
    weights = np.zeros_like(counts)
    present = counts > 0
    weights[present] = (1.0 - beta) / (1.0 - np.power(beta, counts[present]))
    return weights / weights[present].mean()


def class_logits(model: nn.Module, x: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """The head's logits (B, K) for `classes` only: the output layer's rows of those classes,
    so the cost is that of K classes, not of all."""
    last = model if isinstance(model, nn.Linear) else model[-1]
    hidden = x if isinstance(model, nn.Linear) else model[:-1](x)
    return nn.functional.linear(hidden, last.weight[classes], last.bias[classes])


class EmbeddingClassifier:
    """scikit-learn style classifier (`fit`, `predict_proba`) over integer labels 0..C-1.

    The architecture (head, remedy, hidden width) is fixed at construction; the optimisation
    settings (`epochs`, `batch_size`, `lr`, `weight_decay`, `sampled_classes`, `seed` of
    `identify:`) are given to `fit`, so a loaded classifier needs none of them. With more classes
    than `sampled_classes` the loss is a sampled softmax (geoloc/identify/sampled.py).
    """

    def __init__(
        self,
        head: str = "mlp",
        remedy: str = "logit_adjust",
        hidden: int = 256,
        beta: float = 0.999,
        tau: float = 1.0,
    ):
        if remedy not in REMEDIES:
            raise GeolocError(
                f"unknown imbalance remedy {remedy!r}; allowed: {', '.join(REMEDIES)}"
            )
        if head not in HEADS:
            raise GeolocError(f"unknown classifier head {head!r}; allowed: {', '.join(HEADS)}")
        self.head, self.remedy, self.hidden = head, remedy, hidden
        self.beta, self.tau = beta, tau
        self.model: nn.Module | None = None
        self.n_classes = 0

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        params: IdentifyParams,
        n_classes: int | None = None,
        device="cpu",
        rows: np.ndarray | None = None,
    ):
        """Train on the `rows` of X (all by default; float16 is fine: batches are converted one
        at a time) with labels `y` (one per row) and the optimisation settings of `params`;
        `device` as torch takes it."""
        rows = np.arange(len(X)) if rows is None else rows
        self.n_classes = int(n_classes if n_classes is not None else y.max() + 1)
        torch.manual_seed(params.seed)
        generator = torch.Generator().manual_seed(params.seed)
        device = torch.device(device)
        self.model = build_head(self.head, X.shape[1], self.n_classes, self.hidden).to(device)
        counts = np.bincount(y, minlength=self.n_classes)
        weight, shift = None, None
        if self.remedy == "class_balanced":
            weight = torch.tensor(class_balanced_weights(counts, self.beta), dtype=torch.float32)
            weight = weight.to(device)
        elif self.remedy == "logit_adjust":
            prior = np.maximum(counts, 1) / counts.sum()
            shift = torch.tensor(self.tau * np.log(prior), dtype=torch.float32, device=device)
        loss_fn = nn.CrossEntropyLoss(weight=weight)
        optim = torch.optim.AdamW(
            self.model.parameters(), lr=params.lr, weight_decay=params.weight_decay
        )
        sampler = ClassSampler(self.n_classes, params.sampled_classes, params.seed)
        targets = torch.as_tensor(y, dtype=torch.long, device=device)
        self.model.train()
        with torch_threads(1):
            for _ in range(params.epochs):
                for batch, features in shuffled_batches(
                    X, rows, params.batch_size, generator, device
                ):
                    sample = sampler.sample(targets[batch])
                    if sample is None:
                        loss = loss_fn(self._logits(features, shift), targets[batch])
                    else:
                        loss = sampled_cross_entropy(
                            self._logits(features, shift, sample), sample, weight
                        )
                    optim.zero_grad()
                    loss.backward()
                    optim.step()
        self.model.eval()
        return self

    def _logits(self, features, shift, sample: ClassSample | None = None) -> torch.Tensor:
        """Training logits of every class, or of the sampled ones, plus the logit adjustment."""
        if sample is None:
            logits = self.model(features)
            return logits if shift is None else logits + shift
        logits = class_logits(self.model, features, sample.classes)
        return logits if shift is None else logits + shift[sample.classes]

    @torch.no_grad()
    def decision_function(self, X: np.ndarray) -> np.ndarray:
        if self.model is None:
            raise GeolocError("classifier is not fitted")
        device = next(self.model.parameters()).device
        return self.model(torch.as_tensor(X, dtype=torch.float32, device=device)).cpu().numpy()

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return softmax(self.decision_function(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.decision_function(X).argmax(axis=1)

    def state(self) -> dict:
        """Everything needed to rebuild the fitted head (saved inside the identify model)."""
        return {
            "head": self.head,
            "remedy": self.remedy,
            "hidden": self.hidden,
            "n_classes": self.n_classes,
            "in_dim": _in_dim(self.model),
            "state_dict": {k: v.cpu() for k, v in self.model.state_dict().items()},
        }

    @classmethod
    def from_state(cls, state: dict) -> EmbeddingClassifier:
        clf = cls(head=state["head"], remedy=state["remedy"], hidden=state["hidden"])
        clf.n_classes = state["n_classes"]
        clf.model = build_head(state["head"], state["in_dim"], state["n_classes"], state["hidden"])
        clf.model.load_state_dict(state["state_dict"])
        clf.model.eval()
        return clf


def _in_dim(model: nn.Module) -> int:
    first = model if isinstance(model, nn.Linear) else model[0]
    return first.in_features


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
