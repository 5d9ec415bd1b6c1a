"""The location encoder: positional encoding + network, with checked inputs and versioned files.

`encoder(lat, lon)` takes degrees in that order, as two 1-D tensors or one (N, 2) tensor of
(lat, lon) columns (GeoCLIP's and SatCLIP's form), and fails loudly on what can be detected: a
latitude beyond 90 degrees (often a swapped pair), a longitude beyond 180, NaN. A swap that stays
in range cannot be seen from the values. Files are
`{"format": "geoloc.location_encoder", "version": 2, "config": ..., "state_dict": ...,
"extent": ...}` (docs/data-contracts.md; version 1 files, without the extent, still load) and
load on CPU whatever device saved them. `outside_training_extent` tells which points are far
from every training point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from geoloc.encoders.extent import TrainingExtent
from geoloc.encoders.networks import build_network, network_options
from geoloc.encoders.positional import build_encoding, encoding_options
from geoloc.errors import GeolocError
from geoloc.io import atomic_path

FORMAT = "geoloc.location_encoder"
VERSION = 2  # 2: + the training extent
READABLE_VERSIONS = (1, 2)
# ~0.4 GB of fp32 weights (1.6 GB with gradients and AdamW moments): far above the location
# encoders of the literature (a few million), low enough that a typo fails before an allocation
MAX_PARAMETERS = 100_000_000


def split_coordinates(lat, lon=None):
    """(lat, lon) from two 1-D arrays (or tensors), or from one (N, 2) array of (lat, lon)."""
    if lon is not None:
        return lat, lon
    shape = tuple(lat.shape)
    if len(shape) != 2 or shape[1] != 2:
        raise GeolocError(
            "pass lat and lon as two 1-D arrays or one (N, 2) array of (lat, lon) columns; "
            f"got one array of shape {shape}"
        )
    return lat[:, 0], lat[:, 1]


def check_coordinates(lat: torch.Tensor, lon: torch.Tensor) -> None:
    """Raise GeolocError unless lat/lon are matching 1-D finite degrees in range, lat first."""
    if lat.shape != lon.shape or lat.dim() != 1:
        raise GeolocError(
            f"lat and lon must be 1-D and of equal length; got shapes {tuple(lat.shape)} and "
            f"{tuple(lon.shape)}"
        )
    if lat.numel() == 0:
        return
    if not (torch.isfinite(lat).all() and torch.isfinite(lon).all()):
        raise GeolocError("lat/lon contain NaN or infinite values")
    lat_abs, lon_abs = lat.abs().max().item(), lon.abs().max().item()
    if lat_abs > 90:
        hint = (
            " It looks like (lon, lat) was passed: the order is (lat, lon)."
            if lon_abs <= 90
            else ""
        )
        raise GeolocError(f"latitude out of range: |lat| up to {lat_abs:.4g} > 90 degrees.{hint}")
    if lon_abs > 180:
        raise GeolocError(f"longitude out of range: |lon| up to {lon_abs:.4g} > 180 degrees")


class LocationEncoder(nn.Module):
    """(lat, lon) in degrees -> (N, dim) embedding; `config` rebuilds the same architecture.
    `extent` is where it was trained (geoloc.encoders.extent), None when unknown."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        self.extent: TrainingExtent | None = None
        self.encoding = build_encoding(config["pe"], **config.get("pe_options", {}))
        args = (config["net"], self.encoding.out_dim, config["hidden"], config["layers"])
        options = config.get("net_options", {})
        with torch.device("meta"):  # counts the weights without allocating them
            size = sum(
                p.numel() for p in build_network(*args, config["dim"], **options).parameters()
            )
        if size > MAX_PARAMETERS:
            raise GeolocError(
                f"the location encoder would have {size:,} weights, above the {MAX_PARAMETERS:,} "
                "geoloc allows: lower model.hidden, model.layers, model.dim or the positional "
                f"encoding's size ({self.encoding.out_dim} features)"
            )
        self.network = build_network(*args, config["dim"], **options)

    @property
    def dim(self) -> int:
        return self.config["dim"]

    def forward(self, lat: torch.Tensor, lon: torch.Tensor | None = None) -> torch.Tensor:
        """`lat`, `lon`: 1-D tensors of degrees; or `lat` alone, an (N, 2) tensor (lat, lon)."""
        lat, lon = split_coordinates(lat, lon)
        check_coordinates(lat, lon)
        return self.embed(lat, lon)

    def embed(self, lat: torch.Tensor, lon: torch.Tensor) -> torch.Tensor:
        """Forward without the input checks, for hot loops over data checked once up front."""
        return self.network(self.encoding(lat, lon))

    @torch.no_grad()
    def encode(self, lat, lon=None, batch_size: int = 65536) -> np.ndarray:
        """Embed numpy (or list) coordinates in batches, as two 1-D arrays or one (N, 2) of
        (lat, lon); float32 (N, dim) on the CPU."""
        device = next(self.parameters()).device
        lat, lon = split_coordinates(*_as_arrays(lat, lon, np.float32))
        lat_t, lon_t = torch.as_tensor(lat), torch.as_tensor(lon)
        check_coordinates(lat_t, lon_t)
        was_training = self.training
        self.eval()
        try:
            out = [
                self.embed(
                    lat_t[i : i + batch_size].to(device), lon_t[i : i + batch_size].to(device)
                )
                .float()
                .cpu()
                for i in range(0, len(lat_t), batch_size)
            ]
        finally:
            self.train(was_training)
        return torch.cat(out).numpy() if out else np.zeros((0, self.dim), np.float32)


def _as_arrays(lat, lon, dtype):
    return np.asarray(lat, dtype), None if lon is None else np.asarray(lon, dtype)


def outside_training_extent(encoder: LocationEncoder, lat, lon=None) -> np.ndarray:
    """True for each point farther than about one cell from the cells of the encoder's
    training points (geoloc.encoders.extent; lat, lon in degrees). All False when the encoder
    does not know its extent (a version 1 file, an untrained encoder)."""
    lat, lon = split_coordinates(*_as_arrays(lat, lon, np.float64))
    check_coordinates(torch.tensor(lat), torch.tensor(lon))  # copies: the input may be read-only
    if encoder.extent is None:
        return np.zeros(len(lat), dtype=bool)
    return ~encoder.extent.contains(lat, lon)


def extent_warning(encoder: LocationEncoder, lat, lon, name: str) -> str | None:
    """The warning a user reads when some points lie outside the training extent of the
    encoder `name` (their embeddings are extrapolations: a swapped lat/lon often lands there);
    None when every point lies inside."""
    outside = outside_training_extent(encoder, lat, lon)
    if not outside.any():
        return None
    return (
        f"warning: {int(outside.sum())} of {len(outside)} points lie outside the extent "
        f"{name} was trained on ({encoder.extent.describe()}): their embeddings are "
        "extrapolations (a swapped lat/lon?)"
    )


def model_config(model_params, seed: int = 0) -> dict:
    """The encoder config dict from a ModelParams (or a mapping with the same keys)."""
    p = model_params
    return {
        "pe": p.pe,
        "pe_options": encoding_options(p.pe, p, seed=seed),
        "net": p.net,
        "net_options": network_options(p.net, p),
        "hidden": p.hidden,
        "layers": p.layers,
        "dim": p.dim,
    }


def build_location_encoder(model_params, seed: int | None = None) -> LocationEncoder:
    """A freshly initialised encoder; with `seed`, the same weights every time."""
    if isinstance(model_params, dict):
        from geoloc.params import ModelParams

        model_params = ModelParams(**model_params)
    config = model_config(model_params, seed=seed or 0)
    if seed is None:
        return LocationEncoder(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LocationEncoder(config)


def save_location_encoder(encoder: LocationEncoder, path: str | Path) -> None:
    """Write the versioned file atomically; tensors are moved to the CPU first."""
    state = {k: v.detach().cpu() for k, v in encoder.state_dict().items()}
    extent = encoder.extent.state() if encoder.extent is not None else None
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": encoder.config,
        "state_dict": state,
        "extent": extent,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_location_encoder(path: str | Path, map_location="cpu") -> LocationEncoder:
    """Rebuild an encoder from its file, on `map_location` (CPU by default, even from GPU)."""
    path = Path(path)
    if not path.is_file():
        raise GeolocError(f"encoder file not found: {path} (run the train stage first)")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # a truncated or foreign file surfaces as many error types
        raise GeolocError(f"{path}: cannot be read as a torch file ({err})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise GeolocError(f"{path}: not a geoloc location encoder file")
    if payload.get("version") not in READABLE_VERSIONS:
        raise GeolocError(
            f"{path}: encoder file version {payload.get('version')} is not supported by this "
            f"geoloc (reads versions {', '.join(map(str, READABLE_VERSIONS))}); upgrade geoloc "
            "or retrain"
        )
    encoder = LocationEncoder(payload["config"])
    encoder.load_state_dict(payload["state_dict"])
    if payload.get("extent") is not None:  # absent from version 1 files
        encoder.extent = TrainingExtent.from_state(payload["extent"])
    if isinstance(map_location, (str, torch.device)):
        encoder.to(map_location)
    return encoder.eval()
