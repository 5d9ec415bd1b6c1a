"""The two doors into a pipeline step: a DVC stage (`stages/<name>.py`) and a `geoloc` command.

Both load params.yaml through `load_params`, build the step's paths with `geoloc.layout.Layout`
and call the same library function. A command may only change params (`--set KEY=VALUE`, or an
option documented as a shortcut for one param) and paths (options); it never runs other code.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click
import yaml

from geoloc.errors import GeolocError, exit_on_user_error
from geoloc.params import Params, load_params, parse_params


def apply_overrides(params: Params, overrides: tuple[str, ...] | list[str]) -> Params:
    """`params` with each `section.key=value` (YAML value, any depth) applied, then validated."""
    raw = params.model_dump()
    for item in overrides:
        key, sep, value = item.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) < 2 or not all(parts):
            raise GeolocError(f"--set expects SECTION.KEY=VALUE (e.g. model.dim=256), not {item!r}")
        node = raw
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise GeolocError(f"--set {item!r}: {part!r} is not a params section")
            node = node[part]
        try:
            node[parts[-1]] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise GeolocError(f"--set {item!r}: the value is not valid YAML: {err}") from None
    return parse_params(raw, "--set")


def with_shortcuts(params: Params, section: str, **values) -> Params:
    """`params` with each given (non-None) shortcut option applied as `--set section.key=value`,
    so a shortcut is validated and takes effect exactly as the param would."""
    items = [f"{section}.{key}={json.dumps(v)}" for key, v in values.items() if v is not None]
    return apply_overrides(params, items) if items else params


def command_params(params_path: str | None, overrides=()) -> Params:
    """params for a command: the file if it exists (defaults when absent), then `--set`s."""
    path = Path(params_path or "params.yaml")
    params = load_params(path) if path.is_file() else Params()
    return apply_overrides(params, overrides) if overrides else params


def params_options(fn):
    """Add `--params` and repeatable `--set SECTION.KEY=VALUE`; pass `params` (validated)."""

    @click.option(
        "--params",
        "params_path",
        default="params.yaml",
        show_default=True,
        help="params.yaml to read (the built-in defaults when the file does not exist).",
    )
    @click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="SECTION.KEY=VALUE",
        help="Override one param, e.g. --set model.dim=256 (repeatable; values are YAML).",
    )
    @functools.wraps(fn)
    def wrapper(*args, params_path, overrides, **kwargs):
        try:
            params = command_params(params_path, overrides)
        except GeolocError as err:  # wherever this decorator sits, a bad value is one message
            raise click.ClickException(str(err)) from None
        return fn(*args, params=params, **kwargs)

    return wrapper


def stage_command(per_dataset: bool = False):
    """Decorator for `stages/<name>.py`: parse `--params` (and `--dataset`), load and validate,
    call the body as fn(params, layout[, dataset]); user errors exit 1 with one message."""
    from geoloc.layout import Layout
    from geoloc.runtime import die_with_parent

    def decorate(fn):
        @click.command()
        @click.option("--params", "params_path", default="params.yaml", show_default=True)
        @exit_on_user_error
        def main(params_path, **kwargs):
            die_with_parent()
            params = load_params(params_path)
            if per_dataset:
                kwargs["dataset"] = params.check_dataset(kwargs["dataset"])
            return fn(params, Layout(), **kwargs)

        if per_dataset:
            main = click.option("--dataset", required=True, help="A name of data.datasets.")(main)
        main.__doc__ = fn.__doc__
        return main

    return decorate
