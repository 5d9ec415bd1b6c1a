"""Where an encoder was trained: a coarse occupancy grid of its training points.

An embedding of a place far from every training point is an extrapolation, however ordinary it
looks, so the encoder file keeps the grid cells of `CELL_DEG` degrees (latitude x longitude)
that hold at least one training point, and the points' bounding box. A point is *inside* the
extent when its cell or one of the 8 cells around it is occupied (within about one cell, 111 km
north-south, of a training point's cell); longitude wraps at the antimeridian. Near the poles the
cells are narrow east-west, so the test is stricter there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

CELL_DEG = 1.0


def _cell_index(lat: np.ndarray, lon: np.ndarray, cell_deg: float) -> tuple[np.ndarray, ...]:
    rows, cols = round(180 / cell_deg), round(360 / cell_deg)
    row = np.clip(np.floor((lat + 90.0) / cell_deg).astype(np.int64), 0, rows - 1)
    col = np.floor((lon + 180.0) / cell_deg).astype(np.int64) % cols
    return row, col, rows, cols


@dataclass(frozen=True)
class TrainingExtent:
    cells: np.ndarray  # sorted ids (row * columns + column) of the occupied cells
    bounds: tuple[float, float, float, float]  # lat_min, lat_max, lon_min, lon_max
    cell_deg: float = CELL_DEG

    @classmethod
    def of_points(cls, lat, lon, cell_deg: float = CELL_DEG) -> TrainingExtent:
        lat, lon = np.asarray(lat, np.float64), np.asarray(lon, np.float64)
        row, col, _, cols = _cell_index(lat, lon, cell_deg)
        bounds = (float(lat.min()), float(lat.max()), float(lon.min()), float(lon.max()))
        return cls(np.unique(row * cols + col), bounds, cell_deg)

    def contains(self, lat, lon) -> np.ndarray:
        """True where (lat, lon) lies in an occupied cell or next to one."""
        lat, lon = np.asarray(lat, np.float64), np.asarray(lon, np.float64)
        row, col, rows, cols = _cell_index(lat, lon, self.cell_deg)
        inside = np.zeros(row.shape, dtype=bool)
        for d_row in (-1, 0, 1):
            near = row + d_row
            valid = (near >= 0) & (near < rows)
            for d_col in (-1, 0, 1):
                ids = near * cols + (col + d_col) % cols
                slot = np.clip(np.searchsorted(self.cells, ids), 0, len(self.cells) - 1)
                inside |= valid & (self.cells[slot] == ids)
        return inside

    def state(self) -> dict:
        """Tensors and floats only, as the encoder file (loaded with weights_only) needs."""
        return {
            "cell_deg": self.cell_deg,
            "cells": torch.from_numpy(self.cells),
            "bounds": torch.tensor(self.bounds, dtype=torch.float64),
        }

    @classmethod
    def from_state(cls, state: dict) -> TrainingExtent:
        bounds = tuple(float(v) for v in state["bounds"])
        return cls(state["cells"].numpy().astype(np.int64), bounds, float(state["cell_deg"]))

    def describe(self) -> str:
        lat_min, lat_max, lon_min, lon_max = self.bounds
        return (
            f"{len(self.cells)} cells of {self.cell_deg:g} degrees within lat "
            f"{lat_min:.2f}..{lat_max:.2f}, lon {lon_min:.2f}..{lon_max:.2f}"
        )
