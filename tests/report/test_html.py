"""Figure ids: numbered in page order while a page is built (unique whatever the figures
hold), a digest of the figure otherwise (no random UUIDs)."""

import plotly.graph_objects as go

from geoloc.report.html import figure_html, numbered_figures


def _fig():
    return go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))


def test_identical_figures_get_distinct_ids_on_a_page():
    with numbered_figures():
        first, second = figure_html(_fig()), figure_html(_fig())
    assert 'id="fig-1"' in first and 'id="fig-2"' in second
    with numbered_figures():  # a new page numbers from 1 again: same results, same page
        assert figure_html(_fig()) == first


def test_outside_a_page_the_id_is_a_digest_of_the_figure():
    assert figure_html(_fig()) == figure_html(_fig())
    assert figure_html(_fig()) != figure_html(go.Figure(go.Scatter(x=[1], y=[2])))
