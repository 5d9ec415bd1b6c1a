import os
import re
import subprocess
import tracemalloc

import yaml
from click.testing import CliRunner

from geoloc.cli import main
from geoloc.layout import Layout
from geoloc.params import Params
from geoloc.report import SECTIONS, render_report, run_report, summary_text
from tests.report.trees import (
    equal_km_grid,
    evaluated,
    write_identifier_at_scale,
    write_live,
    write_sdm_at_scale,
    write_sdm_results,
)

PAGE_LIMIT = 10_000_000  # bytes of results/report.html, plotly.js (~4.8 MB) included
MEMORY_LIMIT = 100_000_000  # bytes traced at the peak of building that page (measured: 45 MB)


def _layout(tmp_path):
    """An experiment folder whose results/ follow the pipeline's layout."""
    return Layout(tmp_path)


def test_report_has_every_figure_and_plotly_inline_once(tmp_path):
    layout = _layout(tmp_path)
    write_sdm_results(evaluated(layout, "plants"))
    write_sdm_results(evaluated(layout, "fungi"), with_truth=False, with_maps=False)
    write_live(layout.report().train)
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


def test_every_figure_id_is_unique_and_the_shared_embedding_is_shown_once(tmp_path):
    layout = _layout(tmp_path)
    for dataset in ("plants", "fungi", "birds"):  # identical results: identical figures
        write_sdm_results(evaluated(layout, dataset))
    page, _ = render_report(layout.report(), Params())
    ids = re.findall(r'<div id="([^"]+)"', page)
    assert len(ids) == 2 + 1 + 3 + 1 == len(set(ids))  # AUC x2, scatter, 3 maps, 1 embedding
    body = page.split("</head>", 1)[1]
    drawn_into = re.findall(r'getElementById\("([^"]+)"\)', body)
    assert drawn_into == ids  # each figure is drawn into its own div
    assert page.count("Trained embedding (PCA → RGB)") == 1


def test_header_names_the_newest_result_commit_backbone_and_experiment(tmp_path, monkeypatch):
    layout = _layout(tmp_path)
    folder = evaluated(layout, "plants")
    write_sdm_results(folder)
    os.utime(folder / "summary.json", (1_800_000_000, 1_800_000_000))  # 2027-01-15 08:00 UTC
    for path in folder.iterdir():
        if path.name != "summary.json":
            os.utime(path, (1_700_000_000, 1_700_000_000))
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    page, _ = render_report(layout.report(), Params(embed={"backbone": "dinov2-vitb14"}))
    header = page.split("<h1>", 1)[1].split("</table>", 1)[0]
    assert "2027-01-15 08:00 UTC" in header and "dinov2-vitb14" in header
    assert "workspace" in header and "not a git checkout" in header

    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
    monkeypatch.setenv("DVC_EXP_NAME", "wider-dim")
    page, _ = render_report(layout.report(), Params())
    header = page.split("<h1>", 1)[1].split("</table>", 1)[0]
    assert head.stdout.strip() in header and "another commit" in header
    assert "wider-dim" in header


def test_report_renders_with_missing_optional_inputs(tmp_path):
    layout = _layout(tmp_path)
    write_sdm_results(evaluated(layout, "plants"), with_truth=False, with_maps=False)
    page, absent = render_report(layout.report(), Params())
    assert page.count('class="plotly-graph-div"') == 2  # AUC box + per-species scatter
    assert absent == ["training", "identify", "reid"]
    assert "Sections without results: training" in page


def test_report_of_an_empty_results_folder_says_so(tmp_path):
    layout = _layout(tmp_path)
    paths = layout.report().with_options(out=layout.root / "r" / "report.html")
    run_report(Params(), paths)
    assert "No results yet" in paths.out.read_text()


def test_sections_are_registered_by_import_path():
    assert "geoloc.report.sdm_section:sdm_section" in SECTIONS


def test_same_results_give_the_same_page_byte_for_byte(tmp_path):
    layout = _layout(tmp_path)
    write_sdm_results(evaluated(layout, "plants"))
    write_live(layout.report().train)
    first, second = (
        render_report(layout.report(), Params()),
        render_report(layout.report(), Params()),
    )
    assert first == second


def test_page_and_summary_stay_bounded_for_5000_species(tmp_path):
    layout = _layout(tmp_path)
    grid = equal_km_grid(n_rows=150, per_row=160)  # 24,000 cells: more than a map shows
    for i, dataset in enumerate(("plants", "insects")):
        write_sdm_at_scale(evaluated(layout, dataset), 5000, map_species=8, grid=grid, seed=i)
        write_identifier_at_scale(layout.identifier(dataset).results, n_classes=400)
    write_live(layout.report().train, steps=5000)
    paths = layout.report()
    tracemalloc.start()
    try:
        run_report(Params(), paths)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    size = paths.out.stat().st_size
    assert size < PAGE_LIMIT, size
    assert peak < MEMORY_LIMIT, peak
    page = paths.out.read_text()
    # AUC x2, scatter, maps x2, embedding once, training, per dataset confusion and coverage
    assert page.count('class="plotly-graph-div"') == 2 + 1 + 2 + 1 + 1 + 2 * 2
    assert re.search(r"2000 of 4\d\d\d species shown", page)
    assert "30 most frequent of 400" in page
    lines = summary_text(paths).splitlines()
    assert len(lines) <= 24 and not any("species" in line and "Genus" in line for line in lines)


def test_stage_and_command_write_the_same_page(tmp_path, monkeypatch, repo_root):
    from tests.stage_runs import load_stage

    layout = _layout(tmp_path)
    write_sdm_results(evaluated(layout, "plants"))
    write_live(layout.report().train)
    monkeypatch.chdir(layout.root)
    (layout.root / "params.yaml").write_text(yaml.safe_dump({"sdm": {"map_species": 1}}))
    result = CliRunner().invoke(load_stage(repo_root, "report").main, ["--params", "params.yaml"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        main, ["report", "--out", "command.html", "--svg", "auc.svg", "--figure", "range.png"]
    )
    assert result.exit_code == 0, result.output
    by_stage = (layout.root / "results" / "report.html").read_bytes()
    assert (layout.root / "command.html").read_bytes() == by_stage
    assert (layout.root / "auc.svg").read_text().startswith("<svg")
    assert (layout.root / "range.png").read_bytes().startswith(b"\x89PNG")
