"""Log-mel spectrograms as images, so any image backbone can embed a bird call.

The mel filterbank is built here (HTK mel scale, triangular filters, area-normalised) because
torchaudio is not a dependency; the STFT is a framed numpy FFT with a periodic Hann window.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from geoloc.runtime import blas_threads


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(
    n_mels: int, n_fft: int, rate: int, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters evenly spaced on the mel scale."""
    fmax = rate / 2 if fmax is None else fmax
    freqs = np.linspace(0, rate / 2, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - lower) / (centre - lower)
    falling = (upper - freqs) / (upper - centre)
    bank = np.maximum(0.0, np.minimum(rising, falling))
    bank *= 2.0 / (upper - lower)  # equal area, so wide high filters do not dominate
    return bank.astype(np.float32)


def mel_spectrogram(
    x: np.ndarray,
    rate: int,
    n_mels: int = 128,
    n_fft: int = 2048,
    hop: int = 512,
    fmin: float = 150.0,
    fmax: float | None = 15_000.0,
) -> np.ndarray:
    """(n_mels, frames) log-power mel spectrogram in dB (low frequencies in row 0).

    Frames are centred (reflect-padded by n_fft // 2), Hann-windowed, as torch.stft(center=True).
    """
    x = np.pad(np.asarray(x, dtype=np.float32), n_fft // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop]
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)  # periodic Hann
    spec = np.fft.rfft(frames * window, axis=1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    bank = mel_filterbank(n_mels, n_fft, rate, fmin, min(fmax or rate / 2, rate / 2))
    with blas_threads(1):  # a small product: BLAS thread hand-offs cost more than they save
        mel = (power @ bank.T).T
    return 10.0 * np.log10(np.maximum(mel, 1e-10))


def spectrogram_image(db: np.ndarray, dynamic_range_db: float = 80.0) -> Image.Image:
    """Grey RGB image of a dB spectrogram: top = high frequency, peak -> white, -range -> black."""
    top = db.max()
    scaled = np.clip((db - (top - dynamic_range_db)) / dynamic_range_db, 0.0, 1.0)
    pixels = (scaled[::-1] * 255).round().astype(np.uint8)
    return Image.fromarray(pixels, mode="L").convert("RGB")
