"""Converts the disdat R package's data files (rspatial/disdat, inst/extdata, Elith et al. 2020)
to the Parquet layout the benchmark reads (geoloc.bench.disdat.data).

The package ships, per region R, `Rtrain_po.rds` (presence records: spid, siteid, x, y, occ,
group, then the environment columns), `Rtrain_bg.rds` (background points, same columns) and the
test surveys, `Rtest_env.rds` + `Rtest_pa.rds` (one taxon group) or `Rtest_env_<g>.rds` +
`Rtest_pa_<g>.rds` per group g (AWT, NSW): survey sites with their environment, and sites with
one 0/1 column per species. The output is one folder per region (train_po, train_bg, test_pa:
all groups' sites, a species' column null where its group was not surveyed) and a metadata.json
with each region's CRS, environment and categorical columns and groups. lon/lat are added from x,
y with the region's CRS (the package's `disCRS`).

Reading RDS needs `pyreadr` and the reprojection `pyproj` (both on PyPI; imported only here).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from geoloc.errors import GeolocError

# the package's disCRS(region, "proj4"); every other region is WGS84 lon/lat
CRS = {
    "AWT": "+proj=utm +zone=55 +south +ellps=GRS80",
    "CAN": "+proj=longlat +ellps=clrk66",
    "NZ": "+proj=nzmg +lat_0=-41 +lon_0=173 +x_0=2510000 +y_0=6023150 +ellps=intl "
    "+towgs84=59.47,-5.04,187.44,0.47,-0.1,1.024,-4.5993 +units=m",
    "SWI": "+proj=tmerc +lat_0=46.95228333333333 +lon_0=7.439583333333333 +k=1 +x_0=600000 "
    "+y_0=200000 +ellps=bessel +units=m +no_defs",
}
WGS84 = "+proj=longlat +datum=WGS84"
CATEGORICAL = ("ontveg", "vegsys", "toxicats", "age", "calc")  # the package vignette's list
ID_COLUMNS = ("region", "spid", "siteid", "x", "y", "occ", "group")


def _read_rds(path: Path) -> pd.DataFrame:
    try:
        import pyreadr
    except ImportError:
        raise GeolocError(
            "converting the disdat package's .rds files needs pyreadr: pip install pyreadr"
        ) from None
    frame = pyreadr.read_r(str(path))[None]
    for column in frame.columns:  # R factors come as categoricals: keep their labels' values
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            labels = frame[column].astype(str)
            numeric = pd.to_numeric(labels, errors="coerce")
            frame[column] = numeric if numeric.notna().all() else labels
    return frame


def _with_lonlat(frame: pd.DataFrame, region: str) -> pd.DataFrame:
    """`frame` with lon and lat (WGS84) after its x, y in the region's CRS."""
    try:
        from pyproj import Transformer
    except ImportError:
        raise GeolocError(
            "converting disdat coordinates needs pyproj: pip install pyproj"
        ) from None
    transformer = Transformer.from_crs(CRS.get(region, WGS84), WGS84, always_xy=True)
    lon, lat = transformer.transform(frame["x"].to_numpy(float), frame["y"].to_numpy(float))
    at = frame.columns.get_loc("y") + 1
    frame = frame.drop(columns=[c for c in ("lon", "lat") if c in frame.columns])
    frame.insert(min(at, len(frame.columns)), "lon", lon)
    frame.insert(min(at + 1, len(frame.columns)), "lat", lat)
    return frame


def rds_regions(rds_dir: str | Path) -> list[str]:
    """Regions with a `<R>train_po.rds` in `rds_dir`, sorted."""
    names = sorted(p.name.removesuffix("train_po.rds") for p in Path(rds_dir).glob("*train_po.rds"))
    if not names:
        raise GeolocError(f"{rds_dir}: no <REGION>train_po.rds files (the disdat inst/extdata)")
    return names


def _test_files(rds_dir: Path, region: str) -> dict[str | None, tuple[Path, Path]]:
    """group -> (env, pa) files; group None when the region has one survey set."""
    single = rds_dir / f"{region}test_env.rds", rds_dir / f"{region}test_pa.rds"
    if single[0].is_file():
        return {None: single}
    pattern = re.compile(rf"^{re.escape(region)}test_env_(\w+)\.rds$")
    files = {}
    for path in sorted(rds_dir.iterdir()):
        match = pattern.match(path.name)
        if match:
            group = match.group(1)
            files[group] = path, rds_dir / f"{region}test_pa_{group}.rds"
    if not files or not all(pa.is_file() for _, pa in files.values()):
        raise GeolocError(f"{rds_dir}: region {region} lacks its test_env / test_pa files")
    return files


def _test_sites(rds_dir: Path, region: str, po: pd.DataFrame):
    """All groups' survey sites (env + a nullable 0/1 column per species) and group -> species."""
    parts, groups = [], {}
    for group, (env_path, pa_path) in _test_files(rds_dir, region).items():
        env, pa = _read_rds(env_path), _read_rds(pa_path)
        if "siteid" not in env.columns or "siteid" not in pa.columns:
            raise GeolocError(f"{env_path.name} / {pa_path.name}: no siteid column to join on")
        species = [c for c in pa.columns if c not in ID_COLUMNS]
        if group is None:  # one survey set: its group is that of its species' records
            known = po.loc[po["spid"].isin(species), "group"].dropna().astype(str).unique()
            group = known[0] if len(known) == 1 else "all"
        sites = env.drop(columns=[c for c in ("group", "region") if c in env.columns])
        sites = sites.merge(pa[["siteid", *species]], on="siteid", how="left", validate="1:1")
        parts.append(sites.assign(group=group))
        groups[str(group)] = {"species": species}
    sites = pd.concat(parts, ignore_index=True)
    all_species = [sp for members in groups.values() for sp in members["species"]]
    for sp in all_species:
        sites[sp] = sites[sp].astype("Int8")
    ids = [c for c in ("group", "siteid", "x", "y") if c in sites.columns]
    rest = [c for c in sites.columns if c not in ids]
    return sites[ids + rest].assign(region=region), groups


def convert_region(rds_dir: str | Path, region: str, out_dir: str | Path) -> dict:
    """Write `<out_dir>/<region>/{train_po,train_bg,test_pa}.parquet`; return its metadata."""
    from geoloc.io import write_parquet

    rds_dir = Path(rds_dir)
    po = _read_rds(rds_dir / f"{region}train_po.rds")
    bg = _read_rds(rds_dir / f"{region}train_bg.rds")
    env_columns = [c for c in po.columns if c not in ID_COLUMNS]
    missing = [c for c in (*env_columns, "x", "y") if c not in bg.columns]
    if missing or "spid" not in po.columns:
        raise GeolocError(f"region {region}: train_po / train_bg columns disagree ({missing})")
    pa, groups = _test_sites(rds_dir, region, po)
    folder = Path(out_dir) / region
    for name, frame in (("train_po", po), ("train_bg", bg), ("test_pa", pa)):
        frame = _with_lonlat(frame.assign(region=region), region)
        frame = frame[["region", *[c for c in frame.columns if c != "region"]]]
        write_parquet(frame.reset_index(drop=True), folder / f"{name}.parquet")
    return {
        "crs": {"proj4": CRS.get(region, WGS84)},
        "env_columns": env_columns,
        "categorical_columns": [c for c in env_columns if c in CATEGORICAL],
        "groups": groups,
        "rows": {"train_po": len(po), "train_bg": len(bg), "test_pa": len(pa)},
    }


def convert_disdat(
    rds_dir: str | Path, out_dir: str | Path, regions=None, source: dict | None = None
) -> dict:
    """Convert every region (or `regions`) of `rds_dir` into `out_dir` with its metadata.json;
    `source` (e.g. the repository and commit) is recorded in it."""
    from geoloc.io import write_json

    available = rds_regions(rds_dir)
    regions = list(regions) if regions else available
    unknown = sorted(set(regions) - set(available))
    if unknown:
        raise GeolocError(f"region(s) {', '.join(unknown)} not in {rds_dir}")
    meta = {"source": source or {}, "regions": {}}
    for region in regions:
        meta["regions"][region] = convert_region(rds_dir, region, out_dir)
    write_json(Path(out_dir) / "metadata.json", meta)
    return meta
