"""dvc.yaml's outputs are the paths geoloc.layout.Layout gives each step (one home for paths)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from geoloc.layout import Layout
from geoloc.params import load_params

REPO = Path(__file__).resolve().parents[1]


def _outputs_of(stage: dict, dataset: str | None) -> set[Path]:
    body = stage.get("do", stage)
    paths = set()
    for kind in ("outs", "metrics", "plots"):
        for item in body.get(kind) or []:
            path = item if isinstance(item, str) else next(iter(item))
            paths.add(Path(path.replace("${key}", dataset or "")))
    return paths


def _layout_outputs(step: str, dataset: str | None, params) -> set[Path]:
    layout = Layout()
    if step == "params":
        return {layout.params_check}
    if step == "demo":
        demo = layout.demo()
        return {demo.archive, demo.truth, demo.images}
    if step == "filter":
        return {layout.filter(params.data.archive).out_dir}
    if step == "embed":
        return {layout.embed(dataset).out}
    if step == "train":
        train = layout.train(params.data.datasets)
        return {train.encoder, train.results}
    if step == "train-identifier":
        identifier = layout.identifier(dataset)
        return {identifier.model_dir, identifier.results}
    if step == "evaluate":
        return {layout.evaluate(dataset, params.data.archive).out_dir}
    if step == "summary":
        return {layout.report().headline}
    if step == "reid":
        return {layout.reid().out, layout.reid().run}
    return {{"cluster": layout.cluster, "report": layout.report}[step]().out}


def _cases():
    params = load_params(REPO / "params.yaml")
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        for dataset in params.data.datasets if "foreach" in stage else [None]:
            yield pytest.param(name, stage, dataset, params, id=f"{name}@{dataset or ''}")


@pytest.mark.parametrize("name, stage, dataset, params", list(_cases()))
def test_dvc_outputs_are_the_layout_paths_of_the_step(name, stage, dataset, params):
    declared = _outputs_of(stage, dataset)
    expected = _layout_outputs(name, dataset, params)
    outside = [p for p in declared if not any(p == e or e in p.parents for e in expected)]
    assert not outside, f"{name}: dvc.yaml outputs not under Layout's paths: {outside}"
    uncovered = [e for e in expected if not any(p == e or e in p.parents for p in declared)]
    assert not uncovered, f"{name}: Layout paths no dvc.yaml output covers: {uncovered}"
