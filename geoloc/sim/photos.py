"""Procedural "photos" of virtual species: flowers (plants), mushrooms (fungi) and critters
(arthropods).

A family fixes the body plan (petal count, cap shape, segments and legs) and a texture kind; each
species varies colour, pattern scale and size around it, so species of one family look alike and
families differ. Every photo adds its own noise (position, scale, rotation, lighting, background
clutter, sensor noise) so an image model has to look at the organism, not at the pixels.
"""

from __future__ import annotations

import colorsys
import io
import math

import numpy as np
from PIL import Image, ImageDraw

STYLES = ("flower", "mushroom", "critter")
PATTERNS = ("plain", "stripes", "spots", "rings", "radial")
_SUPERSAMPLE = 2


def style_for(kingdom: str) -> str:
    """The body plan drawn for a taxon group: plants flower, fungi fruit, animals crawl."""
    return {"Plantae": "flower", "Fungi": "mushroom"}.get(kingdom, "critter")


def family_traits(rng: np.random.Generator, style: str, legs: int = 6) -> dict:
    """Traits shared by every species of one family (body plan, texture kind, colour region)."""
    traits = {
        "style": style,
        "hue": float(rng.random()),
        "pattern": PATTERNS[int(rng.integers(len(PATTERNS)))],
    }
    if style == "flower":
        traits |= {
            "petals": int(rng.integers(3, 9)),
            "petal_len": float(rng.uniform(0.26, 0.40)),
            "petal_width": float(rng.uniform(0.25, 0.75)),
            "centre": float(rng.uniform(0.07, 0.15)),
        }
    elif style == "mushroom":
        traits |= {
            "cap": ("convex", "flat", "conical", "funnel")[int(rng.integers(4))],
            "cap_width": float(rng.uniform(0.42, 0.68)),
            "cap_height": float(rng.uniform(0.16, 0.30)),
            "stem_len": float(rng.uniform(0.22, 0.40)),
            "stem_width": float(rng.uniform(0.06, 0.14)),
        }
    else:
        traits |= {
            "segments": int(rng.integers(2, 4)),
            "body_len": float(rng.uniform(0.45, 0.68)),
            "body_width": float(rng.uniform(0.28, 0.55)),
            "legs": legs,
            "wings": bool(rng.random() < 0.5) and legs == 6,
        }
    return traits


def species_traits(rng: np.random.Generator, family: dict) -> dict:
    """A species' look: its family's plan with its own colours, pattern scale and size."""
    hue = (family["hue"] + rng.normal(0.0, 0.07)) % 1.0
    sat, val = rng.uniform(0.55, 0.95), rng.uniform(0.55, 0.98)
    second = ((hue + rng.uniform(0.35, 0.65)) % 1.0, rng.uniform(0.3, 0.9), rng.uniform(0.15, 0.95))
    return family | {
        "colour": _rgb(hue, sat, val),
        "colour2": _rgb(*second),
        "detail": _rgb(rng.random(), rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.9)),
        "pattern_scale": float(rng.uniform(0.05, 0.14)),
        "size": float(rng.uniform(0.85, 1.15)),
    }


def _rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def _jitter(rng, colour, amount=18) -> tuple[int, int, int]:
    return tuple(
        min(255, max(0, int(c + v))) for c, v in zip(colour, rng.normal(0, amount, 3), strict=True)
    )


def _ellipse(cx, cy, rx, ry, angle=0.0, n=28) -> list[tuple[float, float]]:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x, y = rx * np.cos(t), ry * np.sin(t)
    ca, sa = math.cos(angle), math.sin(angle)
    return list(zip(cx + x * ca - y * sa, cy + x * sa + y * ca, strict=True))


def _textured(size: int, mask: Image.Image, traits: dict, rng, centre) -> Image.Image:
    """The species' colour and pattern, cut out by `mask` (an RGBA layer)."""
    fill = Image.new("RGB", (size, size), _jitter(rng, traits["colour"], 10))
    draw = ImageDraw.Draw(fill)
    step = max(3.0, traits["pattern_scale"] * size)
    ink, width = traits["colour2"], max(1, int(step / 3))
    kind, (cx, cy) = traits["pattern"], centre
    if kind == "stripes":
        for y in np.arange(-size, 2 * size, step):
            draw.line([(0, y), (size, y + size * 0.3)], fill=ink, width=width)
    elif kind == "spots":
        for _ in range(int((size / step) ** 2 * 0.5)):
            x, y, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(0.2, 0.45) * step
            draw.ellipse([x - r, y - r, x + r, y + r], fill=ink)
    elif kind == "rings":
        for r in np.arange(step, size, step * 1.4):
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=ink, width=width)
    elif kind == "radial":
        for a in np.arange(0, 2 * np.pi, step / size * 4):
            draw.line([(cx, cy), (cx + size * math.cos(a), cy + size * math.sin(a))], ink, width)
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    layer.paste(fill, mask=mask)
    return layer


def _flower(size, t, rng) -> Image.Image:
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    c = size / 2
    green = _jitter(rng, (60, 120, 45), 15)
    draw.line([(c, c), (c + rng.normal(0, size * 0.05), size)], fill=green, width=size // 28)
    for side in (-1, 1):
        ly = c + size * rng.uniform(0.2, 0.35)
        draw.polygon(
            _ellipse(c + side * size * 0.08, ly, size * 0.09, size * 0.03, side * 0.5), green
        )
    mask = Image.new("L", (size, size), 0)
    mdraw = ImageDraw.Draw(mask)
    length, phase = t["petal_len"] * size, rng.uniform(0, 2 * np.pi)
    for k in range(t["petals"]):
        a = phase + 2 * np.pi * k / t["petals"]
        px, py = c + length / 2 * math.cos(a), c + length / 2 * math.sin(a)
        mdraw.polygon(_ellipse(px, py, length / 2, length * t["petal_width"] / 2, a), fill=255)
    layer.alpha_composite(_textured(size, mask, t, rng, (c, c)))
    r = t["centre"] * size
    draw.ellipse([c - r, c - r, c + r, c + r], fill=t["detail"])
    return layer


def _mushroom(size, t, rng) -> Image.Image:
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    c = size / 2
    w, h = t["cap_width"] * size / 2, t["cap_height"] * size
    stem_w, stem_len = t["stem_width"] * size / 2, t["stem_len"] * size
    top = c - (h + stem_len) / 2 + h  # cap underside, so the whole body is centred
    stem = [(c - stem_w, top), (c + stem_w, top), (c + stem_w * 1.3, top + stem_len)]
    draw.polygon([*stem, (c - stem_w * 1.3, top + stem_len)], fill=_jitter(rng, t["detail"], 12))
    shape = t["cap"]
    if shape == "convex":
        cap = [(x, y) for x, y in _ellipse(c, top, w, h, n=40) if y <= top + 1e-6]
    elif shape == "flat":
        cap = [
            (c - w, top),
            (c - w * 0.8, top - h * 0.6),
            (c + w * 0.8, top - h * 0.6),
            (c + w, top),
        ]
    elif shape == "conical":
        cap = [(c - w * 0.8, top), (c - w * 0.2, top - h * 1.2), (c + w * 0.2, top - h * 1.2)]
        cap.append((c + w * 0.8, top))
    else:  # funnel: wider at the rim than at the stem
        cap = [(c - stem_w, top), (c - w, top - h), (c + w, top - h), (c + stem_w, top)]
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).polygon(cap, fill=255)
    layer.alpha_composite(_textured(size, mask, t, rng, (c, top)))
    gill = tuple(int(v * 0.6) for v in t["detail"])
    draw.line([(c - w * 0.75, top), (c + w * 0.75, top)], fill=gill, width=max(1, size // 40))
    return layer


def _critter(size, t, rng) -> Image.Image:
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    c = size / 2
    length, width = t["body_len"] * size, t["body_width"] * size * t["body_len"]
    dark = tuple(int(v * 0.35) for v in t["detail"])
    leg_w = max(1, size // 45)
    for k in range(t["legs"] // 2):
        y = c - length * 0.1 + k * length * 0.4 / max(1, t["legs"] // 2 - 1)
        for side in (-1, 1):
            knee = (c + side * width * 0.9, y - length * 0.08 + k * 0.03 * length)
            foot = (c + side * width * 1.3, y + length * 0.12 * (k - 1))
            draw.line([(c, y), knee, foot], fill=dark, width=leg_w)
    if t["wings"]:
        for side in (-1, 1):
            wing = _ellipse(c + side * width * 0.55, c, width * 0.55, length * 0.35, side * 0.25)
            draw.polygon(wing, fill=(*_jitter(rng, (225, 230, 240), 8), 150))
    mask = Image.new("L", (size, size), 0)
    mdraw = ImageDraw.Draw(mask)
    seg_len = length / t["segments"]
    y0 = c - length / 2
    for k in range(t["segments"]):
        scale = 0.7 + 0.3 * k / max(1, t["segments"] - 1)  # the abdomen is the widest segment
        cy = y0 + seg_len * (k + 0.5)
        mdraw.polygon(_ellipse(c, cy, width / 2 * scale, seg_len * 0.55), fill=255)
    layer.alpha_composite(_textured(size, mask, t, rng, (c, c)))
    head = width * 0.28
    draw.ellipse([c - head, y0 - head * 1.6, c + head, y0 + head * 0.4], fill=dark)
    if t["legs"] == 6:
        for side in (-1, 1):
            draw.line([(c, y0 - head), (c + side * width * 0.6, y0 - length * 0.3)], dark, leg_w)
    return layer


_DRAW = {"flower": _flower, "mushroom": _mushroom, "critter": _critter}
_GROUND = {"flower": (0.22, 0.36), "mushroom": (0.05, 0.12), "critter": (0.05, 0.36)}


def _background(size, style, rng) -> Image.Image:
    """Vegetation- or litter-coloured ground with random blades, twigs and pebbles."""
    lo, hi = _GROUND[style]
    base = _rgb(rng.uniform(lo, hi), rng.uniform(0.25, 0.55), rng.uniform(0.28, 0.52))
    img = Image.new("RGB", (size, size), base)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(8, 22))):
        colour = _jitter(rng, base, 28)
        x, y = rng.uniform(0, size, 2)
        if rng.random() < 0.6:
            a, r = rng.uniform(0, np.pi), rng.uniform(0.1, 0.4) * size
            end = (x + r * math.cos(a), y + r * math.sin(a))
            draw.line([(x, y), end], fill=colour, width=int(rng.integers(1, size // 30 + 2)))
        else:
            r = rng.uniform(0.02, 0.07) * size
            draw.polygon(
                _ellipse(x, y, r, r * rng.uniform(0.4, 1.0), rng.uniform(0, np.pi)), colour
            )
    return img


def draw_photo(traits: dict, size: int, rng: np.random.Generator) -> Image.Image:
    """One noisy photo (RGB, `size` x `size`) of a species with the given traits."""
    canvas = size * _SUPERSAMPLE
    img = _background(canvas, traits["style"], rng).convert("RGBA")
    subject = _DRAW[traits["style"]](canvas, traits, rng)
    upright = traits["style"] == "mushroom"
    angle = math.radians(rng.normal(0, 12) if upright else rng.uniform(0, 360))
    scale = traits["size"] * rng.uniform(0.8, 1.15)
    ox, oy = canvas / 2 + rng.normal(0, 0.07 * canvas, 2)
    # one affine map (output -> input pixel) does rotation, scaling and the shift together
    a, b = math.cos(angle) / scale, math.sin(angle) / scale
    centre = canvas / 2
    inverse = (a, b, centre - a * ox - b * oy, -b, a, centre + b * ox - a * oy)
    img.alpha_composite(subject.transform(img.size, Image.AFFINE, inverse, Image.BILINEAR))
    img = img.convert("RGB").resize((size, size), Image.BOX)
    pixels = np.asarray(img, dtype=np.float32)
    ramp = np.linspace(-1, 1, size, dtype=np.float32)
    direction = rng.uniform(0, 2 * np.pi)
    light = np.cos(direction) * ramp[None, :, None] + np.sin(direction) * ramp[:, None, None]
    pixels = pixels * rng.uniform(0.8, 1.15) * (1 + 0.15 * light) + rng.normal(0, 8, 3)
    pixels += rng.normal(0, rng.uniform(2, 7), pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def encode_jpeg(image: Image.Image, quality: int = 88) -> bytes:
    """JPEG bytes with no timestamps or EXIF, so the same image always gives the same bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=False)
    return buffer.getvalue()
