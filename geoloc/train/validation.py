"""Validation on the held-out spatial blocks, in memory of the order of a batch and a gallery.

`val_loss`: the objective's loss (InfoNCE, the presence loss or their weighted sum, see
geoloc/train/objective.py) of the validation rows in fixed batches of the training's global
batch size, with the training's masking, the rows of a batch its only negatives and, for the
presence loss, its only target-group background (seeded block-shuffled order, the same every
epoch; the last batch may be smaller; `an_full`'s random locations drawn afresh from
`train.seed` every epoch, so the same), averaged over rows; `val_presence_loss` is the presence
part. When one batch holds every validation row this is the loss of the whole set at once.

Retrieval (`val_top1`, `val_top10`, `val_median_km`) is measured in a gallery of
`train.val_gallery` validation rows sampled once with `train.seed` (all of them when there are
fewer), so its numbers do not depend on the size of the download: see `retrieval_metrics`.
It needs paired features: the presence objective has none, and no retrieval.
"""

from __future__ import annotations

import numpy as np
import torch

from geoloc.train.data import BatchStream, read_rows, shuffled_buffers
from geoloc.train.retrieval import retrieval_metrics


class Validation:
    def __init__(
        self,
        source,
        rows: np.ndarray,
        params,
        batch_rows: int,
        device,
        *,
        group=None,
        retrieval: bool = True,
    ):
        """`group`: the rows' target groups (presence objective); `retrieval`: measure the
        gallery retrieval (an objective with paired features)."""
        self.source, self.params, self.device, self.group = source, params, device, group
        generator = torch.Generator().manual_seed(params.seed)  # CPU: one order on any device
        self.buffers = shuffled_buffers(rows, params.chunk_rows, params.buffer_chunks, generator)
        self.spans = [(s, min(s + batch_rows, len(rows))) for s in range(0, len(rows), batch_rows)]
        self.n_rows, self.n_gallery = len(rows), 0
        if retrieval:
            self._sample_gallery(rows)

    def _sample_gallery(self, rows: np.ndarray) -> None:
        params, source, device = self.params, self.source, self.device
        size = min(params.val_gallery, len(rows))
        gallery = np.sort(np.random.default_rng(params.seed).choice(rows, size, replace=False))
        self.gallery_lat = torch.as_tensor(source.lat[gallery], dtype=torch.float32).to(device)
        self.gallery_lon = torch.as_tensor(source.lon[gallery], dtype=torch.float32).to(device)
        features = read_rows(source, gallery, params.chunk_rows).astype(np.float32)
        self.gallery_feat = torch.from_numpy(features).to(device)
        self.n_gallery = size

    def stream(self) -> BatchStream:
        return BatchStream(
            self.source, self.buffers, self.spans, self.params.chunk_rows, self.device, self.group
        )

    @torch.no_grad()
    def evaluate(self, model, autocast) -> dict:
        """Validation losses and gallery retrieval of `model` (an ObjectiveModel), as a row of
        `val_*` metrics. `autocast` is the training's precision context."""
        model.eval()
        sums: dict[str, torch.Tensor] = {}
        # random background locations (an_full): the same every epoch
        generator = torch.Generator().manual_seed(self.params.seed)
        with autocast():
            for batch in self.stream():
                background = None
                if model.presence is not None:
                    background = model.presence.random_background(len(batch), generator)
                terms = model(
                    batch.lat,
                    batch.lon,
                    batch.feat,
                    batch.species,
                    group=batch.group,
                    background=background,
                    local=True,
                )
                for key, value in terms.items():
                    total = sums.get(key, torch.zeros((), dtype=torch.float64, device=self.device))
                    sums[key] = total + value.double() * len(batch)
            if self.n_gallery:
                loc = model.contrastive.embed_locations(self.gallery_lat, self.gallery_lon)
                img = model.contrastive.embed_features(self.gallery_feat)
        model.train()
        row = {f"val_{key}": value.item() / self.n_rows for key, value in sums.items()}
        if self.n_gallery:
            lat, lon = self.gallery_lat.double(), self.gallery_lon.double()
            scores = retrieval_metrics(loc, img, lat, lon)
            row.update({f"val_{k}": v for k, v in scores.items()})
        return row
