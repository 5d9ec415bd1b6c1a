"""Metric sinks: dvclive always; wandb only when asked, offline without an account."""

import sys
import types

import pytest

from geoloc.errors import GeolocError
from geoloc.train.tracking import open_sinks


def test_wandb_gets_the_same_rows_offline(tmp_path, monkeypatch):
    calls = {}

    class Run:
        def __init__(self):
            self.logged = []

        def log(self, row, step):
            self.logged.append((step, row))

        def finish(self):
            calls["finished"] = True

    def init(**kwargs):
        calls["init"] = kwargs
        calls["run"] = Run()
        return calls["run"]

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(init=init))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    sinks = open_sinks(tmp_path / "live", wandb=True, name="train-plants", config={"a": 1})
    for step in range(2):
        sinks.log_metric("loss", 1.0 / (step + 1))
        sinks.next_step()
    sinks.end()
    assert calls["init"]["mode"] == "offline" and calls["init"]["config"] == {"a": 1}
    assert calls["run"].logged == [(0, {"loss": 1.0}), (1, {"loss": 0.5})]
    assert calls["finished"]
    assert (tmp_path / "live" / "plots" / "metrics" / "loss.tsv").is_file()


def test_missing_wandb_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb -> ImportError
    with pytest.raises(GeolocError, match=r"pip install 'geoloc\[wandb\]'"):
        open_sinks(tmp_path / "live", wandb=True, name="x", config={})
