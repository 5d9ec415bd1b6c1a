"""Where the model runs and how randomness is seeded (runtime.device in params.yaml)."""

from __future__ import annotations

import random

import numpy as np

from geoloc.errors import GeolocError


def resolve_device(spec: str = "auto"):
    """Map `auto|cpu|cuda|cuda:N` to a torch.device; asking for CUDA without one is a user error."""
    import torch

    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise GeolocError(
                f"runtime.device is {spec!r} but no CUDA device is available here; "
                "use runtime.device=auto or cpu"
            )
        index = int(spec.split(":", 1)[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise GeolocError(
                f"runtime.device is {spec!r} but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
        return torch.device(spec)
    raise GeolocError(f"runtime.device must be auto, cpu, cuda or cuda:N, not {spec!r}")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a rerun with the same params gives the same result on CPU."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
