"""End to end through DVC on a tiny demo, in a throwaway copy of the repository: the pipeline
runs, pushes to a remote, a second clone pulls identical outputs without recomputing, and
experiments (`-S`, the queue) rerun exactly the stages that depend on the changed params."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent

# A demo small enough that the whole pipeline runs in about two minutes on 2 cores. Two of the
# three datasets: the per-dataset stages still run more than once, and since a stage's run is
# mostly the import of torch, the third would add a quarter to the fixture and each experiment.
TINY_PARAMS = {
    "data": {"datasets": {"plants": {"kingdom": "Plantae"}, "mushrooms": {"kingdom": "Fungi"}}},
    "demo": {
        "species_per_dataset": 4,
        "families_per_dataset": 2,
        "observations": 240,
        "rare_observations": [10, 15],
        "image_size": 32,
    },
    "embed": {"image_size": 64},
    "train": {"epochs": 4},
    "sdm": {
        "covariates": ["trained", "coords", "random"],
        "folds": 3,
        "background": 500,
        "bootstrap": 200,
        "map_species": 1,
    },
    "identify": {"epochs": 5, "proto_epochs": 5, "prior": {"epochs": 5}},
    "reid": {"demo_individuals": 4, "demo_photos": 3, "demo_image_size": 48, "image_size": 64},
    "cluster": {
        "demo_per_type": 6,
        "image_size": 64,
        "min_cluster_size": 3,
        "rounds": 1,
        "epochs": 20,
        "fewshot": {"k_shot": [1], "n_query": 2, "episodes": 10},
    },
}


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "GIT_AUTHOR_NAME": "geoloc test",
        "GIT_AUTHOR_EMAIL": "test@example.org",
        "GIT_COMMITTER_NAME": "geoloc test",
        "GIT_COMMITTER_EMAIL": "test@example.org",
        "DVC_NO_ANALYTICS": "1",
    }


def run(cmd: list[str], cwd: Path, timeout: float = 600) -> str:
    result = subprocess.run(
        cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "datasets":
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _digest(root: Path, rel: str) -> str:
    path = root / rel
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.md5()
    for f in files:
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _outputs(repo: Path) -> list[str]:
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return sorted({o["path"] for s in lock["stages"].values() for o in s.get("outs", [])})


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory, repo_root) -> Path:
    repo = tmp_path_factory.mktemp("pipeline") / "geoloc"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=repo_root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = repo_root / rel
        if src.is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / rel)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    (repo / "params.yaml").write_text(yaml.safe_dump(_merge(params, TINY_PARAMS)))
    (repo / "dvc.lock").unlink()  # the demo's lock also names the stages of the dataset left out
    run(["git", "init", "-q", "-b", "main"], repo)
    run(["git", "config", "user.name", "geoloc test"], repo)
    run(["git", "config", "user.email", "test@example.org"], repo)
    run(["dvc", "remote", "add", "-f", "-d", "--local", "test", str(repo.parent / "remote")], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "tiny demo"], repo)
    run(["dvc", "repro"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "ran pipeline"], repo)
    return repo


def test_pipeline_writes_every_output_and_metrics(tiny_repo):
    for rel in _outputs(tiny_repo):
        assert (tiny_repo / rel).exists(), rel
    report = json.loads((tiny_repo / "data/filtered/report.json").read_text())
    assert report  # rows read and dropped per rule
    metrics = json.loads(run(["dvc", "metrics", "show", "--json"], tiny_repo))
    assert metrics, "dvc metrics show found no metrics"


def test_push_clone_pull_gives_identical_outputs_without_recomputing(tiny_repo, tmp_path):
    run(["dvc", "push"], tiny_repo)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(tiny_repo), str(clone)], tmp_path)
    run(
        ["dvc", "remote", "add", "-f", "-d", "--local", "test", str(tiny_repo.parent / "remote")],
        clone,
    )
    # dvc.yaml: the pipeline's outputs (data.dvc, the real GBIF zip, is not in this remote)
    run(["dvc", "pull", "dvc.yaml"], clone)
    for rel in _outputs(tiny_repo):
        assert _digest(clone, rel) == _digest(tiny_repo, rel), rel
    status = run(["dvc", "status", "dvc.yaml"], clone)
    assert "up to date" in status, status
    assert "Running stage" not in run(["dvc", "repro"], clone)


def test_exp_run_reruns_only_what_depends_on_the_changed_param(tiny_repo):
    dim = yaml.safe_load((tiny_repo / "params.yaml").read_text())["model"]["dim"]
    out = run(["dvc", "exp", "run", "-n", "wider", "-S", f"model.dim={dim * 2}"], tiny_repo)
    assert "Running stage 'train':" in out and "Running stage 'evaluate@plants'" in out, out
    for upstream in ("demo", "filter", "embed@plants", "reid", "cluster"):
        assert f"Running stage '{upstream}'" not in out, out
    shown = json.loads(run(["dvc", "exp", "show", "--json"], tiny_repo))
    assert "wider" in json.dumps(shown)
    # the table command docs/experiments.md gives fits a 120-column terminal, headline intact
    page = (tiny_repo / "docs" / "experiments.md").read_text()
    (command,) = re.findall(r"^dvc exp show --drop .*$", page, re.M)
    table = subprocess.run(
        command, shell=True, cwd=tiny_repo, env={**_env(), "COLUMNS": "120"},
        capture_output=True, text=True, timeout=600, check=True,
    ).stdout  # fmt: skip
    assert "wider" in table and "plants.truth_gain" in table and "model.dim" in table, table
    assert max(len(line) for line in table.splitlines()) <= 120, table


def test_queued_experiments_both_finish_with_metrics(tiny_repo):
    # SDM knobs rerun only evaluate@* and report: the cheapest real sweep of the demo.
    for name, folds in (("q-two", 2), ("q-four", 4)):
        run(["dvc", "exp", "run", "--queue", "-n", name, "-S", f"sdm.folds={folds}"], tiny_repo)
    # The worker daemon inherits the command's pipes: never capture them (waiting on them would
    # wait for the whole queue); follow `dvc queue status` instead.
    subprocess.run(
        ["dvc", "queue", "start", "-j", "2"], cwd=tiny_repo, env=_env(), check=True,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(3600):  # a bound for a broken queue only: a busy machine just polls longer
            status = run(["dvc", "queue", "status"], tiny_repo)
            if "Queued" not in status and "Running" not in status:
                break
            time.sleep(2)
        assert status.count("Success") >= 2, status
    finally:
        subprocess.run(
            ["dvc", "queue", "stop", "--kill"], cwd=tiny_repo, env=_env(),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    shown = json.loads(run(["dvc", "exp", "show", "--json"], tiny_repo))
    runs = {
        exp["name"]: exp
        for baseline in shown
        for exp_run in baseline.get("experiments") or []
        for exp in exp_run["revs"]
    }
    for name in ("q-two", "q-four"):
        metrics = json.dumps(runs[name]["data"]["metrics"])
        assert "cv_trained" in metrics, (name, metrics)


def _fails(cmd: list[str], cwd: Path) -> str:
    result = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode != 0, f"{' '.join(cmd)} should have failed:\n{result.stdout}"
    return result.stdout + result.stderr


@pytest.mark.parametrize("override", ["model.dim=-5", "model.dim=abc", "sdm.covariates=[nonsense]"])
def test_a_bad_param_stops_before_dvc_removes_any_output(tiny_repo, override):
    before = {rel: _digest(tiny_repo, rel) for rel in _outputs(tiny_repo)}
    out = _fails(["dvc", "exp", "run", "-S", override], tiny_repo)
    key = override.split("=")[0]
    assert key in out and "Traceback" not in out, out
    assert "Running stage 'train'" not in out and "Running stage 'evaluate" not in out, out
    for rel, digest in before.items():
        assert (tiny_repo / rel).exists() and _digest(tiny_repo, rel) == digest, rel
    run(["git", "checkout", "params.yaml"], tiny_repo)


def test_a_failed_stage_keeps_the_committed_results(tiny_repo):
    kept = ["metrics.json", "summary.json", "per_species.csv", "auc_by_set.csv"]
    files = [tiny_repo / "results/evaluate/plants" / name for name in kept]
    before = [path.read_bytes() for path in files]
    params = yaml.safe_load((tiny_repo / "params.yaml").read_text())
    params["sdm"]["min_presences"] = 10**6  # valid, but no species qualifies: evaluate fails
    (tiny_repo / "params.yaml").write_text(yaml.safe_dump(params))
    try:
        out = _fails(["dvc", "repro", "evaluate@plants"], tiny_repo)
        assert "no species has >= 1000000 records" in out, out
        assert [path.read_bytes() for path in files] == before
    finally:
        run(["git", "checkout", "params.yaml"], tiny_repo)
