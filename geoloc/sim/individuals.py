"""Synthetic re-identification demo: one species, many individuals with stable spot patterns.

Every individual keeps its own markings (spot positions, sizes and shades on a shared body
shape and colour); each photo of it changes pose (rotation, scale, position), lighting
(brightness, contrast, colour cast), background and sensor noise. Matching must therefore rely
on the markings, as in real photo-identification of leopards, whale sharks or salamanders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

BODY_RGB = np.array([196, 150, 84], dtype=np.float64)  # the species' shared coat colour


def _markings(rng, n_spots: tuple[int, int] = (7, 13)) -> np.ndarray:
    """(n, 4) spots: u, v inside the unit body ellipse, radius, darkness."""
    n = rng.integers(*n_spots)
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.sqrt(rng.uniform(0, 0.8, n))
    return np.column_stack(
        [
            radius * np.cos(angle),
            radius * np.sin(angle),
            rng.uniform(0.06, 0.17, n),
            rng.uniform(0.15, 0.5, n),
        ]
    )


def _render(spots: np.ndarray, size: int, rng) -> Image.Image:
    """One photo of an individual under a random pose, lighting and background."""
    scale = 4  # supersampling for smooth edges
    big = size * scale
    background = rng.uniform(40, 140, 3)
    texture = rng.normal(0, 18, (size // 4 + 1, size // 4 + 1, 3)) + background
    bg = Image.fromarray(np.clip(texture, 0, 255).astype(np.uint8)).resize((big, big))
    canvas = bg.filter(ImageFilter.GaussianBlur(scale * 2))
    draw = ImageDraw.Draw(canvas)

    theta = rng.uniform(-0.7, 0.7)
    axes = np.array([0.47, 0.33]) * big * rng.uniform(0.9, 1.05)  # cropped to the animal
    centre = big / 2 + rng.uniform(-0.04, 0.04, 2) * big
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])

    def to_px(uv):
        return centre + rot @ (np.asarray(uv) * axes)

    outline = [tuple(to_px((np.cos(a), np.sin(a)))) for a in np.linspace(0, 2 * np.pi, 72)]
    body = BODY_RGB * rng.uniform(0.9, 1.1, 3)
    draw.polygon(outline, fill=tuple(int(c) for c in np.clip(body, 0, 255)))
    for u, v, r, dark in spots:
        cx, cy = to_px((u, v))
        rad = r * axes.mean()
        shade = tuple(int(c) for c in body * dark)
        draw.ellipse([cx - rad, cy - rad, cx + rad, cy + rad], fill=shade)

    img = np.asarray(canvas.resize((size, size), Image.Resampling.LANCZOS), dtype=np.float64)
    gain = rng.uniform(0.6, 1.3) * rng.uniform(0.9, 1.1, 3)  # brightness and colour cast
    contrast = rng.uniform(0.75, 1.2)
    img = (img - img.mean()) * contrast + img.mean()
    img = img * gain + rng.normal(0, rng.uniform(2, 10), img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def make_reid_demo(
    individuals: int = 24, photos: int = 8, image_size: int = 96, seed: int = 0
) -> tuple[list[Image.Image], np.ndarray]:
    """Photos and their identity labels (`ind_000`, ...), `photos` per individual."""
    rng = np.random.default_rng(seed)
    images, identities = [], []
    for i in range(individuals):
        spots = _markings(rng)
        for _ in range(photos):
            images.append(_render(spots, image_size, rng))
            identities.append(f"ind_{i:03d}")
    return images, np.array(identities)


def write_reid_demo(out_dir: str | Path, **options) -> Path:
    """Write the photos as JPEGs plus `identities.csv` (`path`, `identity`); return the CSV."""
    import pandas as pd

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images, identities = make_reid_demo(**options)
    rows = []
    for n, (img, ident) in enumerate(zip(images, identities, strict=True)):
        name = f"{ident}_{n:04d}.jpg"
        img.save(out_dir / name, quality=92)
        rows.append({"path": name, "identity": ident})
    csv = out_dir / "identities.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    return csv
