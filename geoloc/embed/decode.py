"""Decode image bytes into an upright RGB PIL image, safely.

The pixel count is checked from the header before any pixel is decoded (a small PNG can expand
to gigabytes: a decompression bomb). JPEGs are decoded directly at a reduced scale when the
model only needs `min_size` pixels on the shorter side (libjpeg's DCT scaling, much faster than
decoding full size and resizing). The EXIF orientation is applied, as phones store it there.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from geoloc.params import EmbedParams

DEFAULT_MAX_PIXELS = EmbedParams().max_pixels  # embed.max_pixels: ~ a 12k x 7.5k photo


class DecodeError(Exception):
    """The bytes are not a usable image; `reason` is short and stable (e.g. `truncated`)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def decode_image(
    data: bytes, min_size: int = 0, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """Bytes -> RGB image, EXIF-transposed, with its shorter side >= `min_size` when it was."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        width, height = image.size
        if width * height > max_pixels:
            raise DecodeError("decompression_bomb", f"{width}x{height} pixels > {max_pixels}")
        if min_size and image.format == "JPEG":
            image.draft("RGB", (min_size, min_size))  # result stays >= min_size on both sides
        image.load()
        image = ImageOps.exif_transpose(image)
        return image if image.mode == "RGB" else image.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise DecodeError("decompression_bomb", str(err)) from None
    except UnidentifiedImageError:
        raise DecodeError("not_image", "unrecognised image format") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        reason = "truncated" if "truncated" in str(err).lower() else "decode_error"
        raise DecodeError(reason, str(err)) from None
