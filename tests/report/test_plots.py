"""`geoloc plots`: DVC's plots page with Vega inline (no script from the network), and the SDM
chart of dvc.yaml: per covariate set the mean AUC with its CI, on an axis not from 0."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from geoloc.cli import main
from geoloc.errors import GeolocError
from geoloc.report import plots as plots_module
from geoloc.report.plots import offline_page_template, vega_bundle
from geoloc.sdm import auc_by_set

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / ".dvc" / "plots"
REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc\s*=", re.IGNORECASE)
MEANS = {"trained": 0.93, "rff": 0.91, "coords": 0.84}


@pytest.fixture(scope="module")
def bundle() -> str:
    return vega_bundle()


def _evaluate_plot() -> tuple[str, dict]:
    """dvc.yaml's plot of evaluate@<ds>: its path and properties (with ${key} in them)."""
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["evaluate"]["do"]
    ((path, props),) = stage["plots"][0].items()
    return path, props


def _auc_by_set_csv() -> str:
    """auc_by_set.csv as the evaluate step writes it, for three covariate sets."""
    sets = {
        name: {"auc": {"mean": m, "median": m, "ci_low": m - 0.03, "ci_high": m + 0.02}}
        for name, m in MEANS.items()
    }
    return auc_by_set({"sets": sets}).to_csv(index=False)


def test_the_bundle_defines_the_vega_embed_that_dvcs_chart_scripts_call(bundle):
    assert "window.vegaEmbed=" in bundle and "window.vegaLite=" in bundle


def test_the_page_template_inlines_the_bundle_and_leaves_out_dvcs_cdn_scripts():
    page = offline_page_template("window.vegaEmbed = 1;")
    assert "{plot_divs}" in page and "{refresh_tag}" in page
    assert "{scripts}" not in page  # where DVC would put its <script src=https://cdn...>
    assert "window.vegaEmbed = 1;" in page and not REMOTE_SCRIPT.search(page)


@pytest.mark.parametrize("bad", ["s = '</script>';", "s = '{plot_divs}';"])
def test_a_bundle_that_would_break_the_page_is_refused(bad):
    with pytest.raises(GeolocError, match="cannot inline"):
        offline_page_template(bad)


def test_sdm_chart_shows_each_sets_ci_on_an_axis_not_from_zero():
    from dvc_render import VegaRenderer
    from vl_convert import vegalite_to_svg

    path, props = _evaluate_plot()
    json.loads((TEMPLATES / f"{props['template']}.json").read_text())  # valid JSON
    assert "${key}" in props["title"]  # each dataset's chart names it
    rows = [{**r, "rev": "workspace"} for r in csv.DictReader(io.StringIO(_auc_by_set_csv()))]
    filled = {**props, "title": props["title"].replace("${key}", "plants")}
    renderer = VegaRenderer(rows, path, template_dir=str(TEMPLATES), **filled)
    spec = renderer.get_filled_template()
    assert "<DVC_METRIC" not in json.dumps(spec)  # every placeholder DVC knows is filled
    interval = spec["layer"][0]["encoding"]
    assert (interval["x"]["field"], interval["x2"]["field"]) == ("auc_ci_low", "auc_ci_high")
    assert interval["x"]["scale"]["zero"] is False
    svg = vegalite_to_svg(spec)
    assert "plants: mean SDM AUC" in svg and all(f">{name}</text>" in svg for name in MEANS)
    ticks = [float(t) for t in re.findall(r">(0\.\d+)</text>", svg)]
    assert ticks and min(ticks) >= 0.75  # CIs span 0.81-0.95: the axis starts near them


def _dvc_repo(root: Path, datasets: list[str]) -> None:
    """A DVC project with dvc.yaml's evaluate plots (definition and template) and their CSVs."""
    subprocess.run([sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], cwd=root, check=True)
    shutil.copytree(TEMPLATES, root / ".dvc" / "plots")
    path, props = _evaluate_plot()
    foreach = {name: {} for name in datasets}  # ${key}, as over params.yaml's data.datasets
    stage = {"foreach": foreach, "do": {"cmd": "true", "plots": [{path: props}]}}
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"evaluate": stage}}))
    for dataset in datasets:
        csv_path = root / path.replace("${key}", dataset)
        csv_path.parent.mkdir(parents=True)
        csv_path.write_text(_auc_by_set_csv())


@pytest.mark.slow
def test_geoloc_plots_writes_a_page_that_needs_no_network(tmp_path, monkeypatch, bundle):
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setattr(plots_module, "vega_bundle", lambda: bundle)  # computed once
    _dvc_repo(tmp_path, ["plants", "fungi"])
    out = tmp_path / "page"
    result = CliRunner().invoke(main, ["plots", "--root", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text()
    assert not REMOTE_SCRIPT.search(page) and bundle in page
    assert page.count("vegaEmbed('#") == 2
    assert "plants: mean SDM AUC" in page and "fungi: mean SDM AUC" in page
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


@pytest.mark.slow
def test_a_project_without_plots_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setattr(plots_module, "vega_bundle", lambda: "window.vegaEmbed = 1;")
    subprocess.run([sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], cwd=tmp_path)
    result = CliRunner().invoke(main, ["plots", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "DVC found no plots to draw" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "dvc_plots").exists()
