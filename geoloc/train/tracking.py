"""Where per-epoch training metrics go: dvclive always, Weights & Biases when asked.

Both are driven through dvclive's small interface (`log_metric`, `next_step`, `end`). wandb is
imported only when `logging.wandb` is true and runs offline unless WANDB_API_KEY is set, so it
never needs an account or the network.
"""

from __future__ import annotations

import os
from pathlib import Path

from geoloc.errors import GeolocError


class WandbSink:
    def __init__(self, project: str, name: str, config: dict, directory: Path):
        try:
            import wandb
        except ImportError:
            raise GeolocError(
                "logging.wandb is true but wandb is not installed: pip install 'geoloc[wandb]'"
            ) from None
        mode = "online" if os.environ.get("WANDB_API_KEY") else "offline"
        directory.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            project=project, name=name, config=config, mode=mode, dir=str(directory)
        )
        self.step, self.row = 0, {}

    def log_metric(self, name: str, value: float) -> None:
        self.row[name] = value

    def next_step(self) -> None:
        self.run.log(self.row, step=self.step)
        self.step, self.row = self.step + 1, {}

    def end(self) -> None:
        self.run.finish()


class Sinks:
    """Fan one stream of metrics out to several dvclive-like sinks."""

    def __init__(self, sinks: list):
        self.sinks = sinks

    def log_metric(self, name: str, value: float) -> None:
        for sink in self.sinks:
            sink.log_metric(name, value)

    def next_step(self) -> None:
        for sink in self.sinks:
            sink.next_step()

    def end(self) -> None:
        for sink in self.sinks:
            sink.end()


def open_sinks(live_dir: Path, *, wandb: bool, name: str, config: dict) -> Sinks:
    from dvclive import Live

    sinks: list = [Live(str(live_dir), dvcyaml=False, save_dvc_exp=False)]
    if wandb:
        sinks.append(WandbSink("geoloc", name, config, Path(".wandb")))
    return Sinks(sinks)
