"""The location encoder: positional encoding + network, with checked inputs and versioned files.

`encoder(lat, lon)` takes degrees in that order and fails loudly on anything else (a swapped or
radian input is the classic silent bug of location encoders). Files are
`{"format": "geoloc.location_encoder", "version": 1, "config": {...}, "state_dict": {...}}`
(docs/data-contracts.md) and load on CPU whatever device saved them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from geoloc.encoders.networks import build_network, network_options
from geoloc.encoders.positional import build_encoding, encoding_options
from geoloc.errors import GeolocError
from geoloc.io import atomic_path

FORMAT = "geoloc.location_encoder"
VERSION = 1


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
    """(lat, lon) in degrees -> (N, dim) embedding; `config` rebuilds the same architecture."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        self.encoding = build_encoding(config["pe"], **config.get("pe_options", {}))
        self.network = build_network(
            config["net"],
            self.encoding.out_dim,
            config["hidden"],
            config["layers"],
            config["dim"],
            **config.get("net_options", {}),
        )

    @property
    def dim(self) -> int:
        return self.config["dim"]

    def forward(self, lat: torch.Tensor, lon: torch.Tensor) -> torch.Tensor:
        check_coordinates(lat, lon)
        return self.embed(lat, lon)

    def embed(self, lat: torch.Tensor, lon: torch.Tensor) -> torch.Tensor:
        """Forward without the input checks, for hot loops over data checked once up front."""
        return self.network(self.encoding(lat, lon))

    @torch.no_grad()
    def encode(self, lat, lon, batch_size: int = 65536) -> np.ndarray:
        """Embed numpy (or list) coordinates in batches; float32 (N, dim) on the CPU."""
        device = next(self.parameters()).device
        lat_t = torch.as_tensor(np.asarray(lat, dtype=np.float32))
        lon_t = torch.as_tensor(np.asarray(lon, dtype=np.float32))
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
    payload = {"format": FORMAT, "version": VERSION, "config": encoder.config, "state_dict": state}
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
    if payload.get("version") != VERSION:
        raise GeolocError(
            f"{path}: encoder file version {payload.get('version')} is not supported by this "
            f"geoloc (reads version {VERSION}); upgrade geoloc or retrain"
        )
    encoder = LocationEncoder(payload["config"])
    encoder.load_state_dict(payload["state_dict"])
    if isinstance(map_location, (str, torch.device)):
        encoder.to(map_location)
    return encoder.eval()
