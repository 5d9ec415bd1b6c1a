import json

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from geoloc.cli import main
from geoloc.layout import Layout
from geoloc.params import Params
from geoloc.report import SECTIONS, render_report, run_report


@pytest.fixture
def layout(tmp_path):
    """An experiment folder whose results/ follow the pipeline's layout."""
    return Layout(tmp_path)


def _sdm_results(folder, with_truth=True, with_maps=True):
    """A minimal evaluate@<ds> output folder."""
    folder.mkdir(parents=True)
    sets = ["trained", "coords"]
    per = pd.DataFrame(
        {
            "species_key": [1, 2, 3],
            "species": ["A a", "B b", "C c"],
            "n_presences": [50, 40, 3],
            "skipped": [False, False, True],
            "auc_trained": [0.9, 0.8, None],
            "auc_coords": [0.7, 0.75, None],
        }
    )
    stats = {"mean": 0.8, "median": 0.8, "ci_low": 0.7, "ci_high": 0.9, "n": 2}
    summary = {"reference": "trained", "sets": {s: {"auc": stats} for s in sets}, "deltas": {}}
    summary["deltas"]["trained_coords"] = {
        "auc": {"mean": 0.1, "ci_low": 0.05, "ci_high": 0.15, "wins": 2, "losses": 0, "n": 2}
    }
    if with_truth:
        per["truth_auc_trained"] = [0.95, 0.85, None]
        per["truth_auc_coords"] = [0.7, 0.6, None]
        for s in sets:
            summary["sets"][s]["truth_auc"] = stats
    per.to_csv(folder / "per_species.csv", index=False)
    (folder / "summary.json").write_text(json.dumps(summary))
    if with_maps:
        grid = pd.DataFrame({"lat": [45.0, 46.0, 47.0], "lon": [1.0, 2.0, 3.0]})
        layers = [
            grid.assign(species_key=1, species="A a", layer=layer, value=[0.1, 0.5, 0.9])
            for layer in ("truth", "trained", "coords")
        ]
        pd.concat(layers).to_parquet(folder / "maps.parquet")
        grid.assign(r=[0.1, 0.2, 0.3], g=[0.5, 0.5, 0.5], b=[0.9, 0.1, 0.0]).to_parquet(
            folder / "embedding_grid.parquet"
        )


def _live(train_dir):
    metrics = train_dir / "live" / "plots" / "metrics" / "train"
    metrics.mkdir(parents=True)
    pd.DataFrame({"timestamp": [0, 1, 2], "step": [0, 1, 2], "loss": [3.0, 2.0, 1.5]}).to_csv(
        metrics / "loss.tsv", sep="\t", index=False
    )


def _evaluated(layout, dataset):
    return layout.evaluate(dataset, "real.zip").out_dir


def test_report_has_every_figure_and_plotly_inline_once(layout):
    _sdm_results(_evaluated(layout, "plants"))
    _sdm_results(_evaluated(layout, "fungi"), with_truth=False, with_maps=False)
    _live(layout.report().train)
    paths = layout.report()
    assert run_report(Params(), paths) == {"out": str(paths.out), "absent": ["identify", "reid"]}
    page = paths.out.read_text()
    assert page.count("plotly.js v") == 1  # the library header, once
    assert "cdn.plot.ly" not in page.split("</script>", 1)[1]
    # AUC, truth AUC, scatter, maps, embedding map, training curves
    assert page.count('class="plotly-graph-div"') == 6
    for text in (
        "AUC by covariate set",
        "Truth AUC",
        "trained encoder vs best baseline",
        "predicted distributions",
        "PCA",
        "Training curves",
        "1 skipped",
    ):
        assert text in page


def test_report_renders_with_missing_optional_inputs(layout):
    _sdm_results(_evaluated(layout, "plants"), with_truth=False, with_maps=False)
    page, absent = render_report(layout.report(), Params())
    assert page.count('class="plotly-graph-div"') == 2  # AUC box + per-species scatter
    assert absent == ["training", "identify", "reid"]
    assert "Sections without results: training" in page


def test_report_of_an_empty_results_folder_says_so(layout):
    paths = layout.report().with_options(out=layout.root / "r" / "report.html")
    run_report(Params(), paths)
    assert "No results yet" in paths.out.read_text()


def test_sections_are_registered_by_import_path():
    assert "geoloc.report.sdm_section:sdm_section" in SECTIONS


def test_static_svg_has_a_dot_per_set_and_dataset(layout):
    from geoloc.report.sdm_section import load_sdm_results
    from geoloc.report.static import auc_svg

    _sdm_results(_evaluated(layout, "plants"))
    _sdm_results(_evaluated(layout, "fungi"), with_truth=False, with_maps=False)
    results = load_sdm_results(layout.report().evaluate, ["plants"])
    assert [r.dataset for r in results] == ["plants", "fungi"]  # configured first
    svg = auc_svg(results, "auc")
    assert svg.startswith("<svg") and svg.count("<circle") == 2 * 2 + 2  # dots + legend
    assert auc_svg(results, "truth_auc").count("<circle") == 2 + 1  # only plants has a truth


def test_same_results_give_the_same_page_byte_for_byte(layout):
    _sdm_results(_evaluated(layout, "plants"))
    _live(layout.report().train)
    first, second = (
        render_report(layout.report(), Params()),
        render_report(layout.report(), Params()),
    )
    assert first == second


def test_stage_and_command_write_the_same_page(layout, monkeypatch, repo_root):
    from tests.stage_runs import load_stage

    _sdm_results(_evaluated(layout, "plants"))
    _live(layout.report().train)
    monkeypatch.chdir(layout.root)
    (layout.root / "params.yaml").write_text(yaml.safe_dump({"sdm": {"map_species": 1}}))
    result = CliRunner().invoke(load_stage(repo_root, "report").main, ["--params", "params.yaml"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["report", "--out", "command.html", "--svg", "auc.svg"])
    assert result.exit_code == 0, result.output
    by_stage = (layout.root / "results" / "report.html").read_bytes()
    assert (layout.root / "command.html").read_bytes() == by_stage
    assert (layout.root / "auc.svg").read_text().startswith("<svg")
