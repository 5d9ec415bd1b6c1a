"""Map figures of the report: each species' predicted layers next to its true range, and the
trained embedding as colour. Values are binned onto a regular lon/lat raster of at most
MAX_CELLS cells, so a map's size on the page is bounded whatever the grid evaluate used.

Maps are plotly heatmaps on plain lon/lat axes rather than plotly geo maps, whose base layers
are fetched from a CDN and would not open offline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from geoloc.report.sdm_results import SdmResults, best_baseline

MAX_CELLS = 12_000  # raster cells per map (about 110 x 110)
MIN_ROW_GAPS = 3  # neighbour gaps a latitude row needs for its longitude step to count
SCALE_TITLE = "suitability, min–max<br>scaled per map<br>(unitless; truth:<br>1 = in range)"


@dataclass
class Raster:
    """Values on a regular lon/lat lattice: `values[i, j]` at (lat[i], lon[j]); NaN = no data."""

    lat: np.ndarray
    lon: np.ndarray
    values: np.ndarray  # (len(lat), len(lon)) or (len(lat), len(lon), channels)


def _steps(lat: np.ndarray, lon: np.ndarray) -> tuple[float, float]:
    """Raster spacing. Cells on latitude rows (the demo's grid: equal-km cells, so the longitude
    step widens northwards): the row spacing, and the widest typical longitude step of a row, so
    no row leaves holes. Scattered cells: the spacing that fills their bounding box."""
    rows = np.unique(lat)
    if len(rows) > 1 and 4 * len(rows) <= len(lat):
        order = np.lexsort((lon, lat))
        lat_sorted, lon_sorted = lat[order], lon[order]
        same_row = lat_sorted[1:] == lat_sorted[:-1]
        gaps = pd.Series(np.diff(lon_sorted)[same_row], index=lat_sorted[1:][same_row])
        per_row = gaps.groupby(level=0).agg(["median", "size"])
        typical = per_row.loc[per_row["size"] >= MIN_ROW_GAPS, "median"]
        if len(typical):
            return float(np.median(np.diff(rows))), float(typical.max())
    extent = max(np.ptp(lat), 1e-9) * max(np.ptp(lon), 1e-9)
    step = float(np.sqrt(extent / max(len(lat), 1)))
    return step, step


def rasterize(lat, lon, values, max_cells: int = MAX_CELLS) -> Raster:
    """Mean of `values` (N,) or (N, C) per raster cell; the lattice of the grid itself when it
    is regular and small enough, coarsened by a whole factor when not."""
    lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    step_lat, step_lon = _steps(lat, lon)
    factor = 1
    while True:  # the finest whole multiple of the grid's steps that fits in max_cells
        dlat, dlon = step_lat * factor, step_lon * factor
        rows = np.rint((lat - lat.min()) / dlat).astype(np.int64)
        cols = np.rint((lon - lon.min()) / dlon).astype(np.int64)
        ny, nx = int(rows.max()) + 1, int(cols.max()) + 1
        if ny * nx <= max_cells:
            break
        factor = max(factor + 1, int(np.sqrt(ny * nx / max_cells) * factor))
    cell = rows * nx + cols
    counts = np.bincount(cell, minlength=ny * nx).astype(np.float64)
    channels = values.reshape(len(values), -1)
    sums = np.stack([np.bincount(cell, weights=c, minlength=ny * nx) for c in channels.T], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (sums / counts[:, None]).reshape(ny, nx, -1)
    return Raster(
        lat.min() + dlat * np.arange(ny),
        lon.min() + dlon * np.arange(nx),
        mean[..., 0] if values.ndim == 1 else mean,
    )


def _scaled(values: np.ndarray) -> np.ndarray:
    """Min-max scaled to 0-1 (layers of different learners are compared by their pattern)."""
    lo, hi = np.nanmin(values), np.nanmax(values)
    return (values - lo) / (hi - lo if hi > lo else 1.0)


def map_layers(res: SdmResults) -> list[str]:
    """The columns of the map grid: truth (when known), trained, best baseline."""
    base = best_baseline(res, "truth_auc" if res.has_truth else "auc")
    present = set(res.maps["layer"])
    return [layer for layer in ("truth", "trained", base) if layer is not None and layer in present]


def layer_raster(res: SdmResults, key, layer: str) -> Raster:
    """One species' layer as a raster scaled 0-1."""
    part = res.maps[(res.maps["species_key"] == key) & (res.maps["layer"] == layer)]
    raster = rasterize(part["lat"], part["lon"], part["value"])
    raster.values = _scaled(raster.values)
    return raster


def distribution_maps_figure(res: SdmResults) -> go.Figure | None:
    """Rows: mapped species; columns: truth (when known), trained, best baseline; one colour
    bar for all (each map scaled to 0-1)."""
    if res.maps.empty:
        return None
    layers = map_layers(res)
    species = list(dict.fromkeys(res.maps["species_key"]))
    names = res.maps.drop_duplicates("species_key").set_index("species_key")["species"]
    fig = make_subplots(
        rows=len(species),
        cols=len(layers),
        subplot_titles=[f"{names[k]} — {layer}" for k in species for layer in layers],
        horizontal_spacing=0.03,
        vertical_spacing=min(0.08, 0.5 / max(len(species) - 1, 1)),
    )
    for r, key in enumerate(species, start=1):
        for c, layer in enumerate(layers, start=1):
            raster = layer_raster(res, key, layer)
            fig.add_trace(
                go.Heatmap(
                    x=raster.lon.astype(np.float32),
                    y=raster.lat.astype(np.float32),
                    z=raster.values.astype(np.float32),
                    coloraxis="coloraxis",
                    hovertemplate="%{y:.2f}° N, %{x:.2f}° E: %{z:.2f}<extra>" + layer + "</extra>",
                ),
                row=r,
                col=c,
            )
    map_axes(fig, float(res.maps["lat"].mean()))
    fig.update_layout(
        coloraxis={
            "colorscale": "Viridis",
            "cmin": 0,
            "cmax": 1,
            "colorbar": {"title": {"text": SCALE_TITLE}, "len": min(1.0, 1.2 / len(species))},
        },
        height=330 * len(species),
        margin={"t": 40, "l": 10, "r": 10},
    )
    return fig


def embedding_colours(grid) -> Raster:
    """The embedding grid's RGB (first three principal components) as a raster."""
    return rasterize(grid["lat"], grid["lon"], grid[["r", "g", "b"]].to_numpy())


def embedding_map_figure(res: SdmResults) -> go.Figure | None:
    """The trained encoder's embedding on the grid, its first three principal components as RGB:
    similar colours = places the encoder considers ecologically alike."""
    if res.embedding_grid.empty:
        return None
    raster = embedding_colours(res.embedding_grid)
    filled = np.isfinite(raster.values[..., 0])
    lat, lon = np.meshgrid(raster.lat, raster.lon, indexing="ij")
    rgb = np.clip(np.rint(raster.values[filled] * 255), 0, 255).astype(int)
    fig = go.Figure(
        go.Scattergl(
            x=lon[filled].astype(np.float32),
            y=lat[filled].astype(np.float32),
            mode="markers",
            marker={
                "size": 5,
                "symbol": "square",
                "color": [f"rgb({r},{g},{b})" for r, g, b in rgb],
            },
            hoverinfo="skip",
        )
    )
    map_axes(fig, float(np.mean(raster.lat)))
    fig.update_layout(height=560, margin={"t": 20}, title=None)
    return fig


def map_axes(fig: go.Figure, mid_lat: float) -> None:
    """Degree ticks, and 1° of longitude drawn cos(latitude) as wide as 1° of latitude."""
    fig.update_xaxes(ticksuffix="° E", showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(ticksuffix="° N", showgrid=False, zeroline=False, constrain="domain")
    for axis in fig.layout:
        if axis.startswith("yaxis"):
            suffix = axis.removeprefix("yaxis")
            fig.layout[axis].update(
                scaleanchor=f"x{suffix}", scaleratio=1 / np.cos(np.radians(mid_lat))
            )
