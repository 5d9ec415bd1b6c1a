"""The HTML report of a pipeline run and the terminal summary of its metrics."""

from geoloc.report.build import SECTIONS, render_report
from geoloc.report.headline import headlines
from geoloc.report.range_figure import range_png
from geoloc.report.sdm_results import SdmResults, load_sdm_results
from geoloc.report.static import auc_svg
from geoloc.report.step import run_report, run_summary
from geoloc.report.summary import summary_text

__all__ = [
    "SECTIONS",
    "SdmResults",
    "auc_svg",
    "headlines",
    "load_sdm_results",
    "range_png",
    "render_report",
    "run_report",
    "run_summary",
    "summary_text",
]
