"""Synthetic calls demo -> ROI listing -> `geoloc embed-audio` -> the shared embedding schema."""

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from geoloc.cli import main
from geoloc.embed.audio.rois import list_rois
from geoloc.embed.store import read_embeddings
from geoloc.sim.calls import CALL_TYPES, make_call, write_calls_demo


def test_every_call_type_is_a_noisy_clip_in_range():
    rng = np.random.default_rng(0)
    for kind in CALL_TYPES:
        x, rate = make_call(kind, rng)
        assert rate in (22_050, 44_100, 48_000) and np.isfinite(x).all()
        assert 0 < np.abs(x).max() <= 1 and len(x) > 0.2 * rate


def test_demo_is_deterministic_and_listed_from_folder_or_csv(tmp_path):
    csv = write_calls_demo(tmp_path / "a", per_type=2, types=["trill", "buzz"], seed=1)
    again = write_calls_demo(tmp_path / "b", per_type=2, types=["trill", "buzz"], seed=1)
    x, rate = sf.read(tmp_path / "a/trill/trill_000.wav")
    y, _ = sf.read(tmp_path / "b/trill/trill_000.wav")
    assert np.array_equal(x, y) and rate in (22_050, 44_100, 48_000)
    from_csv, from_dir = list_rois(csv), list_rois(tmp_path / "a")
    assert sorted(from_csv.labels) == sorted(from_dir.labels) == ["buzz"] * 2 + ["trill"] * 2
    assert again.exists()


def test_embed_audio_writes_the_image_schema(tmp_path):
    csv = write_calls_demo(tmp_path / "calls", per_type=2, types=["upchirp", "whistle"])
    out = tmp_path / "calls.h5"
    result = CliRunner().invoke(
        main, ["embed-audio", str(csv), str(out), "--image-size", "64", "--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    table = read_embeddings(out)
    assert table.embedding.shape[0] == 4
    assert np.allclose(np.linalg.norm(table.embedding, axis=1), 1, atol=1e-2)
    assert list(table.species_key) == [0, 0, 1, 1]
    assert table.attrs["label_names"] == ["upchirp", "whistle"]
    assert table.attrs["sample_rate"] == 48_000 and table.attrs["image_size"] == 64
    assert table.attrs["backbone"] == "efficientnet-lite0" and table.attrs["dim"] > 0
