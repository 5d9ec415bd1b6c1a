"""The pretrained GeoCLIP location encoder (Vivanco et al. 2023) as a peer and SDM covariate.

Its weights ship inside the `geoclip` wheel, so this runs offline. GeoCLIP's
`equal_earth_projection` reads column 0 as latitude and column 1 as longitude, so our (lat, lon)
order is passed through unchanged; the range check still guards against swapped input.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import torch

from geoloc.encoders.location_encoder import check_coordinates


@functools.cache
def _model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the location encoder needs no hub access
    from geoclip import LocationEncoder

    return LocationEncoder().eval()


@torch.no_grad()
def geoclip_features(lat, lon, batch_size: int = 8192) -> np.ndarray:
    """(N, 512) float32 GeoCLIP location embeddings of degree coordinates, on the CPU."""
    lat_t = torch.as_tensor(np.asarray(lat, dtype=np.float32))
    lon_t = torch.as_tensor(np.asarray(lon, dtype=np.float32))
    check_coordinates(lat_t, lon_t)
    model = _model()
    coords = torch.stack([lat_t, lon_t], dim=1)
    out = [model(coords[i : i + batch_size]) for i in range(0, len(coords), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, 512), np.float32)
