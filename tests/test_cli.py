import click
import pytest
from click.testing import CliRunner

from geoloc.cli import COMMANDS, main


def _all_command_paths(group: click.Group, ctx: click.Context, prefix=()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _all_command_paths(command, ctx, (*prefix, name))


def test_every_registered_command_loads():
    ctx = click.Context(main)
    for name in COMMANDS:
        assert main.get_command(ctx, name) is not None, name


@pytest.mark.parametrize("path", list(_all_command_paths(main, click.Context(main))))
def test_every_command_has_help(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    help_text = result.output.split("Options:")[0]
    assert len(help_text.strip().splitlines()) >= 3, f"{' '.join(path)} needs a description"


def test_unknown_command_fails_cleanly():
    result = CliRunner().invoke(main, ["frobnicate"])
    assert result.exit_code != 0
    assert "No such command" in result.output
