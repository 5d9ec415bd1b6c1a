"""The `geoloc embed` CLI as real processes: kill -9 at a random moment then rerun, and a
2-process torchrun (gloo, CPU) that shards the rows and merges on rank 0."""

from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from geoloc.embed.pipeline import embed_table
from geoloc.embed.store import read_embeddings
from geoloc.params import EmbedParams
from tests.embed.embed_fixtures import observation_table, write_jpegs

pytestmark = pytest.mark.slow
BATCH = 4


def _cli(tmp_path, backbone_dir, out, *extra) -> list[str]:
    return [
        sys.executable, *extra, "-m", "geoloc.cli", "embed", "--input", "t.parquet",
        "--out", str(out), "--backbone", str(backbone_dir), "--image-size", "32",
        "--batch-size", str(BATCH), "--workers", "2", "--device", "cpu", "--no-progress",
    ]  # fmt: skip


@pytest.fixture
def dataset(tmp_path, tiny_backbone):
    """200 JPEGs (one missing), their table, and the file an uninterrupted run writes."""
    urls = write_jpegs(tmp_path / "img", 200)
    urls[17] = str(tmp_path / "img" / "gone.jpg")
    table = observation_table(urls)
    table.to_parquet(tmp_path / "t.parquet")
    (tmp_path / "params.yaml").write_text("embed: {cpu_threads: 1}\n")  # as the reference
    reference = tmp_path / "reference.h5"
    config = EmbedParams(batch_size=BATCH, local_root=str(tmp_path))
    summary = embed_table(table, reference, tiny_backbone, config, progress=False)
    return table, read_embeddings(reference), summary.seconds


def test_kill_9_at_a_random_moment_then_rerun_equals_an_uninterrupted_run(
    tmp_path, tiny_timm_dir, dataset
):
    table, reference, seconds = dataset
    out = tmp_path / "out.h5"
    cmd = _cli(tmp_path, tiny_timm_dir, out)
    work = tmp_path / ".out.h5.work"
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None and not any(work.rglob("part-*.h5")):
        time.sleep(0.005)  # wait until embedding has started ...
    time.sleep(random.uniform(0.0, 0.6 * seconds))  # ... then kill at a random moment
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not out.exists()

    rerun = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    skipped = int(re.search(r"skipped (\d+) already done", rerun.stderr).group(1))
    assert skipped > 0  # it resumed rather than starting over

    stored = read_embeddings(out)  # opens cleanly
    assert stored.gbif_id.tolist() == reference.gbif_id.tolist()  # every id once, in order
    assert len(set(stored.gbif_id.tolist())) == len(table) - 1
    np.testing.assert_array_equal(stored.embedding, reference.embedding)
    assert not work.exists()


def test_torchrun_two_processes_shard_and_rank0_merges(tmp_path, tiny_timm_dir, dataset):
    table, reference, _ = dataset
    out = tmp_path / "out.h5"
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    run = subprocess.run(
        _cli(tmp_path, tiny_timm_dir, out, *launcher),
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    shares = [int(n) for n in re.findall(r"embedded (\d+), failed", run.stderr)]
    assert len(shares) == 2 and all(n > 0 for n in shares) and sum(shares) == len(table) - 1
    stored = read_embeddings(out)
    assert stored.gbif_id.tolist() == reference.gbif_id.tolist()
    np.testing.assert_allclose(stored.embedding, reference.embedding, atol=2e-3)
