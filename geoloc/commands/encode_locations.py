"""`geoloc encode-locations`: embeddings of a CSV of points or of a regular grid."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from geoloc.errors import GeolocError, exit_on_user_error


def regular_grid(bounds: str, step: float):
    """Cell-centre (lat, lon) of a grid over 'LAT_MIN,LAT_MAX,LON_MIN,LON_MAX' every `step` deg."""
    try:
        lat_min, lat_max, lon_min, lon_max = (float(v) for v in bounds.split(","))
    except ValueError:
        raise GeolocError(
            f"--grid must be LAT_MIN,LAT_MAX,LON_MIN,LON_MAX in degrees, got {bounds!r}"
        ) from None
    if step <= 0 or lat_min >= lat_max or lon_min >= lon_max:
        raise GeolocError("--grid needs LAT_MIN < LAT_MAX, LON_MIN < LON_MAX and --step > 0")
    lats = np.arange(lat_min + step / 2, lat_max, step)
    lons = np.arange(lon_min + step / 2, lon_max, step)
    if len(lats) * len(lons) > 50_000_000:
        raise GeolocError(f"grid of {len(lats) * len(lons)} points is too large; raise --step")
    lat, lon = np.meshgrid(lats, lons, indexing="ij")
    return lat.ravel(), lon.ravel()


def read_points(points: str, lat_col: str, lon_col: str):
    """The CSV's rows and their (lat, lon) as floats; an unreadable, empty or non-numeric file
    is a user error naming what is wrong."""
    import pandas as pd

    if not Path(points).is_file():
        raise GeolocError(f"points file not found: {points}")
    try:
        frame = pd.read_csv(points)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise GeolocError(f"{points}: not a readable CSV ({err})") from None
    missing = [c for c in (lat_col, lon_col) if c not in frame.columns]
    if missing:
        raise GeolocError(
            f"{points}: no column(s) {', '.join(missing)}; columns are "
            f"{', '.join(map(str, frame.columns))} (use --lat-col/--lon-col)"
        )
    if frame.empty:
        raise GeolocError(f"{points}: no points (the file has a header but no rows)")
    coords = [pd.to_numeric(frame[c], errors="coerce").to_numpy(float) for c in (lat_col, lon_col)]
    for column, values in zip((lat_col, lon_col), coords, strict=True):
        bad = np.flatnonzero(np.isnan(values) & frame[column].notna().to_numpy())
        if len(bad):
            raise GeolocError(
                f"{points}: column {column} is not numeric in {len(bad)} row(s), e.g. row "
                f"{bad[0] + 1}: {frame[column].iloc[bad[0]]!r}"
            )
    return frame, coords[0], coords[1]


def _embed(encoder: str, lat, lon, device: str) -> np.ndarray:
    from geoloc.encoders import extent_warning, geoclip_features, load_location_encoder
    from geoloc.runtime import resolve_device

    if encoder == "geoclip":
        return geoclip_features(lat, lon)
    model = load_location_encoder(encoder, map_location=resolve_device(device))
    warning = extent_warning(model, lat, lon, encoder)
    if warning:
        click.echo(warning, err=True)
    return model.encode(lat, lon)


@click.command("encode-locations")
@click.option(
    "--encoder",
    required=True,
    help="A trained encoder file (models/encoder.pt) or 'geoclip' (pretrained).",
)
@click.option(
    "--points",
    type=click.Path(dir_okay=False),
    help="CSV with latitude/longitude columns (see --lat-col/--lon-col).",
)
@click.option("--grid", help="Regular grid instead of points: LAT_MIN,LAT_MAX,LON_MIN,LON_MAX.")
@click.option("--step", type=float, default=0.1, show_default=True, help="Grid step in degrees.")
@click.option("--lat-col", default="lat", show_default=True)
@click.option("--lon-col", default="lon", show_default=True)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output .csv or .parquet: the input columns (or lat, lon) + e0..e{dim-1}.",
)
@click.option("--device", default="cpu", show_default=True, help="auto|cpu|cuda|cuda:N")
@exit_on_user_error
def encode_locations(encoder, points, grid, step, lat_col, lon_col, out, device):
    """Write location embeddings (lat, lon in degrees) for points or a grid. Warns when points
    lie outside the extent a trained encoder saw (its embeddings there are extrapolations)."""
    import pandas as pd

    from geoloc.io import write_csv, write_parquet

    out = Path(out)
    if out.suffix not in (".csv", ".parquet"):
        raise GeolocError(f"--out must end in .csv or .parquet, got {out.name}")
    if (points is None) == (grid is None):
        raise GeolocError("give exactly one of --points CSV or --grid BOUNDS")
    if points is not None:
        frame, lat, lon = read_points(points, lat_col, lon_col)
    else:
        lat, lon = regular_grid(grid, step)
        frame = pd.DataFrame({"lat": lat, "lon": lon})
    emb = _embed(encoder, lat, lon, device)
    columns = pd.DataFrame(emb, columns=[f"e{i}" for i in range(emb.shape[1])], index=frame.index)
    result = pd.concat([frame, columns], axis=1)
    (write_csv if out.suffix == ".csv" else write_parquet)(result, out)
    click.echo(f"wrote {len(result)} embeddings of dim {emb.shape[1]} to {out}", err=True)
