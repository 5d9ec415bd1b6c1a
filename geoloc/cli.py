"""The `geoloc` console script. Each command lives in geoloc/commands/<name>.py and is imported
only when invoked, so `geoloc --help` stays fast and one broken optional dependency cannot take
down unrelated commands."""

from __future__ import annotations

import importlib

import click

from geoloc import __version__

# command name -> "module:attribute"; add a line here when adding geoloc/commands/<name>.py
COMMANDS: dict[str, str] = {
    "bench": "geoloc.commands.bench:bench",
    "reid": "geoloc.commands.reid:reid",
    "fewshot": "geoloc.commands.fewshot:fewshot",
    "cluster": "geoloc.commands.cluster:cluster",
    "embed-audio": "geoloc.commands.embed_audio:embed_audio",
    "demo": "geoloc.commands.demo:demo",
    "filter": "geoloc.commands.filter:filter_cmd",
    "summary": "geoloc.commands.summary:summary",
    "embed": "geoloc.commands.embed:embed",
    "identify": "geoloc.commands.identify:identify",
    "train-identifier": "geoloc.commands.train_identifier:train_identifier",
    "evaluate": "geoloc.commands.evaluate:evaluate",
    "report": "geoloc.commands.report:report",
    "train": "geoloc.commands.train:train",
    "encode-locations": "geoloc.commands.encode_locations:encode_locations",
    "plots": "geoloc.commands.plots:plots",
}


class LazyGroup(click.Group):
    """A click group that imports each subcommand's module on first use."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="geoloc")
def main():
    """Learn location encoders from GBIF observations and measure them with SDMs."""


if __name__ == "__main__":
    main()
