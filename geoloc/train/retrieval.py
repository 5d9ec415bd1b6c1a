"""Validation retrieval between paired locations and images (GeoCLIP-style evaluation)."""

from __future__ import annotations

import numpy as np
import torch

from geoloc.geometry import great_circle_km


@torch.no_grad()
def retrieval_metrics(
    loc_emb: torch.Tensor,
    img_emb: torch.Tensor,
    lat: torch.Tensor,
    lon: torch.Tensor,
    ks: tuple[int, ...] = (1, 10),
    chunk: int = 4096,
) -> dict[str, float]:
    """Row i of loc_emb/img_emb is one observation of the gallery (L2-normalised); training
    passes a fixed sample of `train.val_gallery` validation rows (geoloc/train/validation.py).

    `top{k}`: share of gallery locations whose own image is among the k gallery images most
    similar to it. `median_km`: median great-circle distance from each gallery image's location
    to the gallery location most similar to the image. Memory: `chunk` x gallery similarities.
    """
    hits = {k: 0 for k in ks}
    errors = []
    n = len(loc_emb)
    for start in range(0, n, chunk):
        rows = slice(start, min(start + chunk, n))
        idx = torch.arange(rows.start, rows.stop, device=loc_emb.device)
        loc_to_img = loc_emb[rows].float() @ img_emb.float().T
        own = loc_to_img[torch.arange(len(idx)), idx]
        rank = (loc_to_img > own.unsqueeze(1)).sum(1)
        for k in ks:
            hits[k] += int((rank < k).sum())
        best = (img_emb[rows].float() @ loc_emb.float().T).argmax(1)
        errors.append(great_circle_km(lat[rows], lon[rows], lat[best], lon[best]).float().cpu())
    out = {f"top{k}": hits[k] / max(n, 1) for k in ks}
    out["median_km"] = float(np.median(torch.cat(errors).numpy())) if n else float("nan")
    return out
