"""geoloc: location encoders learned from citizen-science observations, measured by SDMs.

Heavy submodules (torch) load on first use, so `geoloc --help` and the data stages start fast.
"""

__version__ = "0.1.0"

_LAZY = {
    "LocationEncoder": "geoloc.encoders.location_encoder",
    "load_location_encoder": "geoloc.encoders.location_encoder",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'geoloc' has no attribute {name!r}")
