"""What the report maps: the grid, the species shown, their predicted (and true) layers, and the
trained embedding over the grid as colour."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geoloc.geometry import block_ids
from geoloc.sdm.truth import truth_grid


def map_grid(observations: pd.DataFrame, truth: pd.DataFrame | None, grid) -> pd.DataFrame:
    """The truth's cells when there is a truth, else `grid` (lat, lon), else the observed cells."""
    if truth is not None:
        return truth_grid(truth)
    if grid is not None:
        return grid
    return observation_grid(observations["lat"].to_numpy(), observations["lon"].to_numpy(), 10.0)


def observation_grid(lat: np.ndarray, lon: np.ndarray, step_km: float) -> pd.DataFrame:
    """Centres of the `step_km` cells that hold at least one observation: a map grid of the
    sampled area when no truth grid exists (real data)."""
    ids = pd.Series(block_ids(lat, lon, step_km))
    frame = pd.DataFrame({"lat": lat, "lon": lon, "cell": ids})
    return frame.groupby("cell")[["lat", "lon"]].mean().reset_index(drop=True)


def map_species(kept: np.ndarray, counts: pd.Series, truth: pd.DataFrame | None, n: int) -> list:
    """The `n` most observed species (among those with a truth range, when there is a truth)."""
    ranked = counts.loc[kept].sort_values(ascending=False, kind="stable").index
    if truth is not None:
        ranked = ranked[ranked.isin(truth["species_key"].unique())]
    return list(ranked[:n])


def prediction_layers(grid, name: str, mapped: dict) -> list[pd.DataFrame]:
    """One layer per mapped species (key -> its grid predictions): covariate set `name`."""
    return [layer(grid, key, name, values) for key, values in mapped.items()]


def truth_layers(truth: pd.DataFrame, keys) -> list[pd.DataFrame]:
    """One `truth` layer per mapped species: its true presence (1/0)."""
    present = truth[truth["species_key"].isin(keys)]
    return [
        layer(group, key, "truth", group["present"].astype(np.float32))
        for key, group in present.groupby("species_key")
    ]


def layer(points: pd.DataFrame, key, name: str, values) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "species_key": key,
            "layer": name,
            "lat": points["lat"].to_numpy(),
            "lon": points["lon"].to_numpy(),
            "value": np.asarray(values, dtype=np.float32),
        }
    )


def assemble_maps(layers: list[pd.DataFrame], names: pd.Series) -> pd.DataFrame:
    """The long map table (species_key, species, layer, lat, lon, value); empty without layers."""
    maps = pd.concat(layers, ignore_index=True) if layers else pd.DataFrame()
    if not maps.empty:
        maps["species"] = names.reindex(maps["species_key"]).to_numpy()
    return maps


def embedding_rgb(grid: pd.DataFrame, embedding: np.ndarray) -> pd.DataFrame:
    """First three principal components of the embedding, each stretched to [0, 1] (2-98 %)."""
    centred = embedding - embedding.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    pcs = centred @ vt[:3].T
    low, high = np.percentile(pcs, [2, 98], axis=0)
    rgb = np.clip((pcs - low) / np.maximum(high - low, 1e-12), 0, 1)
    rgb = np.pad(rgb, ((0, 0), (0, 3 - rgb.shape[1])))
    return pd.DataFrame(
        {"lat": grid["lat"], "lon": grid["lon"], "r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]}
    )
