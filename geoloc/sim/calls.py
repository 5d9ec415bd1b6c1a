"""Synthetic bird-call regions of interest for the clustering demo, written as WAV files.

Six call types with the shapes found in real soundscapes: rising and falling chirps, a pulsed
trill, a vibrato whistle, a two-note call and a noisy buzz. Each ROI varies pitch (+-8%),
duration (some longer than the 3 s window, most shorter), amplitude, background noise level
and sample rate (22.05, 44.1 or 48 kHz), so the preprocessing has real work to do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

RATES = (22_050, 44_100, 48_000)


def _sweep(t, f0, f1):
    """Linear frequency sweep from f0 to f1 Hz over the duration of t."""
    k = (f1 - f0) / max(t[-1], 1e-9)
    return np.sin(2 * np.pi * (f0 * t + 0.5 * k * t**2))


def _upchirp(t, pitch, rng):
    return _sweep(t, 2000 * pitch, 6000 * pitch)


def _downchirp(t, pitch, rng):
    return _sweep(t, 7000 * pitch, 3000 * pitch)


def _trill(t, pitch, rng):
    pulses = 0.5 - 0.5 * np.cos(2 * np.pi * rng.uniform(14, 20) * t)
    return np.sin(2 * np.pi * 4200 * pitch * t) * pulses**2


def _whistle(t, pitch, rng):
    vibrato = 120 * pitch * np.sin(2 * np.pi * 6 * t) / (2 * np.pi * 6)
    return np.sin(2 * np.pi * (2600 * pitch * t + vibrato))


def _two_note(t, pitch, rng):
    half = t < t[-1] / 2
    return np.where(
        half, np.sin(2 * np.pi * 5200 * pitch * t), np.sin(2 * np.pi * 3400 * pitch * t)
    )


def _buzz(t, pitch, rng):
    from scipy.signal import butter, sosfilt

    rate = (len(t) - 1) / max(t[-1], 1e-9)
    low, high = 6000 * pitch, min(8500 * pitch, 0.45 * rate)
    sos = butter(4, [low, high], btype="bandpass", fs=rate, output="sos")
    noise = sosfilt(sos, rng.normal(size=len(t)))
    return noise / (np.abs(noise).max() + 1e-9)


# name -> (generator, duration range in seconds)
CALL_TYPES = {
    "upchirp": (_upchirp, (0.25, 0.6)),
    "downchirp": (_downchirp, (0.25, 0.6)),
    "trill": (_trill, (1.0, 3.6)),
    "whistle": (_whistle, (0.6, 1.6)),
    "two_note": (_two_note, (0.4, 0.8)),
    "buzz": (_buzz, (0.3, 0.9)),
}


def make_call(kind: str, rng) -> tuple[np.ndarray, int]:
    """One noisy ROI of call type `kind`: (float32 samples in [-1, 1], sample rate)."""
    generate, (dmin, dmax) = CALL_TYPES[kind]
    rate = int(rng.choice(RATES))
    call_s = rng.uniform(dmin, dmax)
    margin = rng.uniform(0.05, 0.3, 2)  # the ROI box leaves some background around the call
    n = int((call_s + margin.sum()) * rate)
    t_call = np.arange(int(call_s * rate)) / rate
    envelope = np.sqrt(np.clip(np.sin(np.pi * t_call / t_call[-1]), 0, 1))
    call = generate(t_call, rng.uniform(0.92, 1.08), rng) * envelope
    x = rng.normal(0, 1, n) * rng.uniform(0.005, 0.05)
    start = int(margin[0] * rate)
    x[start : start + len(call)] += call * rng.uniform(0.15, 0.8)
    return np.clip(x, -1, 1).astype(np.float32), rate


def write_calls_demo(
    out_dir: str | Path, per_type: int = 40, types: list[str] | None = None, seed: int = 0
) -> Path:
    """Write `<out_dir>/<type>/<type>_<n>.wav` ROIs and `calls.csv` (`path`, `label`)."""
    import pandas as pd
    import soundfile as sf

    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    rows = []
    for kind in types or list(CALL_TYPES):
        (out_dir / kind).mkdir(parents=True, exist_ok=True)
        for n in range(per_type):
            x, rate = make_call(kind, rng)
            rel = f"{kind}/{kind}_{n:03d}.wav"
            sf.write(out_dir / rel, x, rate, subtype="PCM_16")
            rows.append({"path": rel, "label": kind})
    csv = out_dir / "calls.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    return csv
