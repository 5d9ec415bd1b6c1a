"""Audio preprocessing: 48 kHz after resampling, exactly 3 s, fades at both ends."""

import numpy as np
import pytest
import soundfile as sf

from geoloc.embed.audio import preprocess as pp
from geoloc.errors import GeolocError


def _tone(seconds, rate, freq=1000.0):
    t = np.arange(int(seconds * rate)) / rate
    return np.sin(2 * np.pi * freq * t).astype(np.float32)


@pytest.mark.parametrize("rate", [22_050, 44_100, 48_000, 16_000])
def test_resample_to_48k_keeps_duration_and_pitch(rate):
    y = pp.resample(_tone(0.5, rate), rate)
    assert len(y) == 24_000
    spectrum = np.abs(np.fft.rfft(y))
    assert np.argmax(spectrum) * 48_000 / len(y) == pytest.approx(1000, abs=4)


@pytest.mark.parametrize("seconds", [0.2, 2.999, 3.0, 7.3])
def test_clip_is_exactly_3_s_at_48k(seconds):
    y = pp.preprocess(_tone(seconds, 44_100), 44_100)
    assert y.dtype == np.float32 and len(y) == 144_000


def test_short_clip_is_padded_symmetrically_and_long_one_centre_cropped():
    short = pp.fix_length(np.ones(10), 20)
    assert list(short[:5]) == [0] * 5 and list(short[-5:]) == [0] * 5 and short.sum() == 10
    long = pp.fix_length(np.arange(30.0), 10)
    assert list(long) == list(np.arange(10.0, 20.0))


def test_fade_applied_at_both_ends():
    x = np.ones(48_000, dtype=np.float32)
    y = pp.fade(x, 48_000, fade_s=0.01)
    assert y[0] == 0 and y[-1] < 1e-3
    assert np.all(np.diff(y[:480]) >= 0) and np.all(np.diff(y[-480:]) <= 0)
    assert np.all(y[480:-480] == 1)
    # the fade sits on the ROI's own ends, before padding
    z = pp.preprocess(np.ones(4_800, dtype=np.float32), 48_000, fade_s=0.01)
    first = np.flatnonzero(z)[0]
    assert z[first] < 0.01 and z[first + 480] == pytest.approx(1)


def test_read_audio_mixes_to_mono(tmp_path):
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([_tone(0.1, 22_050), -_tone(0.1, 22_050)], 1) * 0.5, 22_050)
    x, rate = pp.read_audio(path)
    assert rate == 22_050 and x.ndim == 1 and np.abs(x).max() < 1e-3
    assert len(pp.load_roi(path)) == 144_000


def test_bad_audio_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    with pytest.raises(GeolocError):
        pp.read_audio(bad)
    with pytest.raises(GeolocError):
        pp.read_audio(tmp_path / "missing.wav")
