"""User-facing errors: one clear message and a non-zero exit, never a traceback."""

from __future__ import annotations

import functools

import click


class GeolocError(Exception):
    """An error the user caused and can fix (bad archive, bad params, missing file)."""


def exit_on_user_error(fn):
    """Turn a GeolocError raised inside a click command into `error: <message>` and exit 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except GeolocError as err:
            raise click.ClickException(str(err)) from None

    return wrapper
