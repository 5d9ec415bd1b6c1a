"""Prototype classifier for few-shot (rare) species, Proto-CLIP style.

Each class has a visual prototype (initialised at the mean of its normalised training embeddings,
then fine-tuned) and, when the backbone has a text tower, a fixed text prototype (the embedding of
the species name). Class scores blend the two cosine similarities with a learned weight and are
divided by a learned temperature (P et al., "Proto-CLIP: Vision-Language Prototypical Network for
Few-Shot Learning", IROS 2024). Classes without a text embedding use the visual similarity alone,
and without any text the blend is skipped entirely.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from geoloc.identify.batches import float_rows, shuffled_batches
from geoloc.identify.classifier import softmax
from geoloc.identify.sampled import ClassSampler, sampled_cross_entropy
from geoloc.params import IdentifyParams
from geoloc.runtime import torch_threads

MEAN_CHUNK = 65536  # rows normalised at a time for the prototypes' starting means


class PrototypeNet(nn.Module):
    """Learnable visual prototypes, fixed text prototypes, learned blend weight and temperature."""

    def __init__(self, visual: torch.Tensor, text: torch.Tensor | None, temperature: float):
        super().__init__()
        self.visual = nn.Parameter(visual.clone())
        self.register_buffer("text", text if text is not None else torch.zeros(0))
        self.register_buffer(
            "has_text",
            torch.isfinite(text).all(dim=1) if text is not None else torch.zeros(0, dtype=bool),
        )
        self.log_temperature = nn.Parameter(torch.tensor(float(np.log(temperature))))
        self.blend_logit = nn.Parameter(torch.tensor(0.0))  # sigmoid -> visual weight 0.5

    @property
    def uses_text(self) -> bool:
        return bool(self.has_text.numel() and self.has_text.any())

    def visual_weight(self) -> torch.Tensor:
        return torch.sigmoid(self.blend_logit)

    def forward(self, x: torch.Tensor, classes: torch.Tensor | None = None) -> torch.Tensor:
        """Scores (B, C) of every class, or (B, K) of `classes` only (costing K, not C)."""
        x = F.normalize(x, dim=1)
        visual = self.visual if classes is None else self.visual[classes]
        score = x @ F.normalize(visual, dim=1).T
        if self.uses_text:
            text, has_text = self.text, self.has_text
            if classes is not None:
                text, has_text = text[classes], has_text[classes]
            text = torch.where(has_text[:, None], text, torch.zeros_like(text))
            text_score = x @ F.normalize(text, dim=1).T
            alpha = self.visual_weight()
            blended = alpha * score + (1 - alpha) * text_score
            score = torch.where(has_text[None, :], blended, score)
        return score / self.log_temperature.exp()


class PrototypeClassifier:
    """`fit(X, y, n_classes, params, text=None)` then `predict_proba(X)`; text rows may be NaN
    (missing). Fine-tuning reads `proto_epochs`, `proto_lr`, `batch_size`, `sampled_classes` and
    `seed` of `identify:`; with more classes than `sampled_classes` its softmax is sampled."""

    def __init__(self, temperature: float = 0.05):
        self.temperature = temperature
        self.net: PrototypeNet | None = None

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        n_classes: int,
        params: IdentifyParams,
        text: np.ndarray | None = None,
        rows: np.ndarray | None = None,
    ):
        """Fit on the `rows` of X (all by default; float16 is fine) with labels `y`, one per row."""
        rows = np.arange(len(X)) if rows is None else rows
        torch.manual_seed(params.seed)
        generator = torch.Generator().manual_seed(params.seed)
        targets = torch.as_tensor(y, dtype=torch.long)
        visual = torch.zeros(n_classes, X.shape[1])
        for start in range(0, len(rows), MEAN_CHUNK):
            part = torch.from_numpy(float_rows(X, rows[start : start + MEAN_CHUNK]))
            visual.index_add_(0, targets[start : start + MEAN_CHUNK], F.normalize(part, dim=1))
        visual = F.normalize(visual, dim=1)
        text_t = None
        if text is not None and text.shape == (n_classes, X.shape[1]):
            text_t = torch.as_tensor(text, dtype=torch.float32)
        self.net = PrototypeNet(visual, text_t, self.temperature)
        optim = torch.optim.Adam(self.net.parameters(), lr=params.proto_lr)
        sampler = ClassSampler(n_classes, params.sampled_classes, params.seed)
        with torch_threads(1):
            for _ in range(params.proto_epochs):
                for batch, features in shuffled_batches(X, rows, params.batch_size, generator):
                    features, sample = F.normalize(features, dim=1), sampler.sample(targets[batch])
                    if sample is None:
                        loss = F.cross_entropy(self.net(features), targets[batch])
                    else:
                        loss = sampled_cross_entropy(self.net(features, sample.classes), sample)
                    optim.zero_grad()
                    loss.backward()
                    optim.step()
        self.net.eval()
        return self

    @property
    def uses_text(self) -> bool:
        return self.net is not None and self.net.uses_text

    @property
    def learned_temperature(self) -> float:
        return float(self.net.log_temperature.detach().exp())

    @property
    def visual_weight(self) -> float:
        return float(self.net.visual_weight().detach()) if self.uses_text else 1.0

    @torch.no_grad()
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return softmax(self.net(torch.as_tensor(X, dtype=torch.float32)).numpy())

    def state(self) -> dict:
        return {
            "temperature": self.temperature,
            "n_classes": self.net.visual.shape[0],
            "dim": self.net.visual.shape[1],
            "state_dict": {k: v.cpu() for k, v in self.net.state_dict().items()},
        }

    @classmethod
    def from_state(cls, state: dict) -> PrototypeClassifier:
        proto = cls(temperature=state["temperature"])
        sd = state["state_dict"]
        text = sd["text"] if sd["text"].numel() else None
        proto.net = PrototypeNet(sd["visual"], text, state["temperature"])
        proto.net.load_state_dict(sd)
        proto.net.eval()
        return proto
