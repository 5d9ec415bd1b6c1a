"""Mel filterbank, spectrogram and image shape."""

import numpy as np

from geoloc.embed.audio import mel


def test_filterbank_shape_and_peaks_in_order():
    bank = mel.mel_filterbank(64, 1024, 48_000, 150, 15_000)
    assert bank.shape == (64, 513)
    assert np.all(bank >= 0) and np.all(np.diff(bank.argmax(axis=1)) >= 0)
    freqs = np.linspace(0, 24_000, 513)
    assert bank[:, freqs > 15_100].sum() == 0 and bank[:, freqs < 140].sum() == 0


def test_mel_matches_torch_stft():
    import torch

    x = np.random.default_rng(0).normal(size=48_000).astype(np.float32)
    ours = mel.mel_spectrogram(x, 48_000, n_mels=32, n_fft=512, hop=256)
    spec = torch.stft(
        torch.from_numpy(x),
        512,
        hop_length=256,
        window=torch.hann_window(512),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    power = spec.abs().pow(2).numpy()
    ref = 10 * np.log10(np.maximum(mel.mel_filterbank(32, 512, 48_000, 150, 15_000) @ power, 1e-10))
    assert np.allclose(ours, ref, atol=1e-3)


def test_image_shape_and_tone_position():
    t = np.arange(144_000) / 48_000
    db = mel.mel_spectrogram(np.sin(2 * np.pi * 4000 * t), 48_000, n_mels=128, hop=512)
    assert db.shape == (128, 144_000 // 512 + 1)
    img = mel.spectrogram_image(db)
    assert img.size == (282, 128) and img.mode == "RGB"
    row = np.asarray(img)[:, :, 0].mean(axis=1).argmax()
    expected = 127 - np.argmin(
        np.abs(
            mel.mel_to_hz(np.linspace(mel.hz_to_mel(150), mel.hz_to_mel(15_000), 130)[1:-1]) - 4000
        )
    )
    assert abs(row - expected) <= 1  # high frequencies at the top of the image
