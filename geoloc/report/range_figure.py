"""A static PNG for the README, drawn with Pillow from the report's rasters (plotly's own image
export needs kaleido and a browser): one demo species' true range, the range the trained
encoder's SDM predicts for it, and the trained embedding as colour."""

from __future__ import annotations

import numpy as np

from geoloc.errors import GeolocError
from geoloc.report.maps import Raster, embedding_colours, layer_raster
from geoloc.report.sdm_results import SdmResults

PANEL_PX, PAD_PX, TITLE_PX, BAR_PX = 300, 16, 44, 56


def viridis(values: np.ndarray) -> np.ndarray:
    """0-1 values as Viridis RGB (uint8); NaN (no data) white."""
    from plotly.colors import hex_to_rgb, sequential

    stops = np.array([hex_to_rgb(c) for c in sequential.Viridis], dtype=np.float64)
    where = np.clip(np.nan_to_num(values), 0, 1) * (len(stops) - 1)
    rgb = np.stack(
        [np.interp(where, np.arange(len(stops)), stops[:, k]) for k in range(3)], axis=-1
    )
    rgb[~np.isfinite(values)] = 255
    return rgb.astype(np.uint8)


def _panel(raster: Raster, rgb: np.ndarray):
    """The raster north up, PANEL_PX wide, 1° lon drawn cos(lat) as wide as 1° lat."""
    from PIL import Image

    dlat = np.ptp(raster.lat) / max(len(raster.lat) - 1, 1) or 1.0
    dlon = np.ptp(raster.lon) / max(len(raster.lon) - 1, 1) or 1.0
    aspect = (
        len(raster.lat) * dlat / (len(raster.lon) * dlon * np.cos(np.radians(raster.lat.mean())))
    )
    image = Image.fromarray(np.ascontiguousarray(rgb[::-1]), "RGB")
    return image.resize((PANEL_PX, max(1, round(PANEL_PX * aspect))), Image.Resampling.NEAREST)


def _demo_species(results: list[SdmResults]) -> tuple[SdmResults, object]:
    """The mapped species with a true range closest to half the map (the most telling
    picture), and its dataset."""
    candidates = []
    for res in results:
        if res.maps.empty or not {"truth", "trained"} <= set(res.maps["layer"]):
            continue
        truth = res.maps[res.maps["layer"] == "truth"]
        for key, share in truth.groupby("species_key", sort=False)["value"].mean().items():
            candidates.append((abs(share - 0.5), len(candidates), res, key))
    if not candidates:
        raise GeolocError(
            "no dataset has a species mapped with its true range: run evaluate on the demo"
        )
    _, _, res, key = min(candidates, key=lambda c: c[:2])
    return res, key


def range_png(results: list[SdmResults]) -> bytes:
    """True range | predicted by the trained encoder | trained embedding, with titles and the
    suitability colour bar, as PNG bytes."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    res, key = _demo_species(results)
    rows = res.per_species.set_index("species_key")
    truth, trained = layer_raster(res, key, "truth"), layer_raster(res, key, "trained")
    score = rows.get("truth_auc_trained", rows.get("auc_trained"))
    panels = [
        (
            f"{rows.loc[key, 'species']} ({res.dataset}): true range",
            _panel(truth, viridis(truth.values)),
        ),
        (
            f"predicted, trained encoder (truth AUC {score[key]:.2f})",
            _panel(trained, viridis(trained.values)),
        ),
    ]
    if not res.embedding_grid.empty:
        colours = embedding_colours(res.embedding_grid)
        rgb = np.where(np.isfinite(colours.values), colours.values, 1.0)
        panels.append(
            (
                "trained embedding, PCA -> RGB",
                _panel(colours, np.rint(np.clip(rgb, 0, 1) * 255).astype(np.uint8)),
            )
        )
    height = TITLE_PX + max(p.height for _, p in panels) + BAR_PX
    sheet = Image.new("RGB", (len(panels) * (PANEL_PX + PAD_PX) + PAD_PX, height), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=13)
    for i, (title, panel) in enumerate(panels):
        left = PAD_PX + i * (PANEL_PX + PAD_PX)
        sheet.paste(panel, (left, TITLE_PX))
        draw.text((left, 14), title, fill="black", font=font)
    bar = viridis(np.tile(np.linspace(0, 1, 2 * PANEL_PX), (12, 1)))
    top = height - BAR_PX + 10
    sheet.paste(Image.fromarray(bar, "RGB"), (PAD_PX, top))
    draw.text((PAD_PX, top + 16), "0", fill="black", font=font)
    draw.text((PAD_PX + 2 * PANEL_PX - 8, top + 16), "1", fill="black", font=font)
    draw.text(
        (PAD_PX + 40, top + 16),
        "suitability, min-max scaled per map (unitless); truth: 1 = in range",
        fill="black",
        font=font,
    )
    out = io.BytesIO()
    sheet.save(out, format="PNG", optimize=True)
    return out.getvalue()
