"""The header's facts come from the results and the checkout, never from the clock."""

import os

from geoloc.layout import Layout, run_record
from geoloc.report.provenance import experiment_name, git_commit, newest_result_time


def test_newest_result_time_is_that_of_the_newest_file_the_report_reads(tmp_path):
    paths = Layout(tmp_path).report()
    assert newest_result_time(paths) is None
    run = run_record(paths.reid)
    run.parent.mkdir(parents=True)
    run.write_text("{}")
    os.utime(run, (1_800_000_000, 1_800_000_000))
    paths.out.write_text("the page itself does not count")
    os.utime(paths.out, (1_900_000_000, 1_900_000_000))
    assert newest_result_time(paths) == "2027-01-15 08:00 UTC"


def test_no_commit_outside_a_checkout_and_the_workspace_outside_an_experiment(
    tmp_path, monkeypatch
):
    assert git_commit(tmp_path / "not" / "yet") is None
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    assert experiment_name() == "workspace"
    monkeypatch.setenv("DVC_EXP_NAME", "q-two")
    assert experiment_name() == "q-two"
