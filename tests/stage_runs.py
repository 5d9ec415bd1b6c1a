"""Helpers for the tests that run a DVC stage script and its `geoloc` command on the same inputs,
and a small labelled embedding file for the commands that take one."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import yaml
from click.testing import CliRunner


def load_stage(repo_root: Path, name: str):
    """stages/<name>.py as a module (its `main` is the stage's click command)."""
    spec = importlib.util.spec_from_file_location(f"{name}_stage", repo_root / f"stages/{name}.py")
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    return stage


def stage_and_command(repo_root, folder: Path, name: str, params: dict, stage_out: str, *command):
    """Run stage `name` in `folder` with `params`, then `geoloc <command>` there; returns the
    stage's output file (relative to `folder`) and the command's parsed stdout."""
    from geoloc.cli import main

    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    result = CliRunner().invoke(load_stage(repo_root, name).main, ["--params", "params.yaml"])
    assert result.exit_code == 0, result.output
    by_stage = json.loads((folder / stage_out).read_text())
    result = CliRunner().invoke(main, [str(arg) for arg in command])
    assert result.exit_code == 0, result.output
    return by_stage, json.loads(result.stdout)


def labelled_store(path, labels, seed=0):
    """An embedding file in the shared schema with one Gaussian blob per label."""
    from geoloc.embed.audio.rois import RoiTable, write_audio_embeddings

    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    codes = np.unique(labels, return_inverse=True)[1]
    x = 3 * rng.normal(size=(codes.max() + 1, 16))[codes] + rng.normal(size=(len(codes), 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    nan = np.full(len(labels), np.nan)
    rois = RoiTable([f"r{i}.wav" for i in range(len(labels))], labels.astype(str), nan, nan)
    attrs = {"backbone": "synthetic", "weights_id": "-", "image_size": 0}
    write_audio_embeddings(path, rois, x, attrs)
    return path
