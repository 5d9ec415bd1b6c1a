"""Turn a region of interest (ROI) into a fixed 48 kHz, 3 s clip, as BirdNET and Darksound expect.

Order: mono -> resample (polyphase, exact rational ratio) -> fade in/out over the ROI's own ends
(so the cut edges do not click into broadband energy) -> zero-pad or centre-truncate to length.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from geoloc.errors import GeolocError

SAMPLE_RATE = 48_000
DURATION_S = 3.0
AUDIO_SUFFIXES = (".wav", ".flac")


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples and their sample rate from a WAV/FLAC file."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise GeolocError(f"audio file not found: {path}")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as err:
        raise GeolocError(f"{path}: cannot be read as audio ({err})") from None
    return data.mean(axis=1), int(rate)


def resample(x: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample with scipy's polyphase filter at the exact ratio target/rate."""
    from scipy.signal import resample_poly

    if rate == target:
        return np.asarray(x, dtype=np.float32)
    ratio = Fraction(target, rate)
    return resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)


def fade(x: np.ndarray, rate: int, fade_s: float = 0.01) -> np.ndarray:
    """Raised-cosine fade-in and fade-out of `fade_s` seconds (shortened for tiny clips)."""
    n = min(int(round(fade_s * rate)), len(x) // 2)
    if n == 0:
        return x.copy()
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
    out = x.astype(np.float32, copy=True)
    out[:n] *= ramp
    out[len(x) - n :] *= ramp[::-1]
    return out


def fix_length(x: np.ndarray, length: int) -> np.ndarray:
    """Centre-truncate a long clip or zero-pad a short one symmetrically to `length` samples."""
    if len(x) >= length:
        start = (len(x) - length) // 2
        return x[start : start + length]
    before = (length - len(x)) // 2
    return np.pad(x, (before, length - len(x) - before))


def preprocess(
    x: np.ndarray,
    rate: int,
    target_rate: int = SAMPLE_RATE,
    duration_s: float = DURATION_S,
    fade_s: float = 0.01,
) -> np.ndarray:
    """ROI samples at `rate` -> float32 clip of exactly duration_s * target_rate samples."""
    if len(x) == 0:
        raise GeolocError("empty audio clip")
    y = fade(resample(x, rate, target_rate), target_rate, fade_s)
    return fix_length(y, int(round(duration_s * target_rate))).astype(np.float32)


def load_roi(path, target_rate=SAMPLE_RATE, duration_s=DURATION_S, fade_s=0.01) -> np.ndarray:
    """Read and preprocess one ROI file."""
    x, rate = read_audio(path)
    return preprocess(x, rate, target_rate, duration_s, fade_s)
