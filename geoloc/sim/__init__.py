"""Simulators: the virtual-species demo archive (photos, truth), synthetic individuals for
re-identification and synthetic bird calls for discovery."""

from geoloc.sim.calls import make_call, write_calls_demo
from geoloc.sim.demo import DemoSummary, build_demo
from geoloc.sim.individuals import make_reid_demo, write_reid_demo
from geoloc.sim.step import run_demo

__all__ = [
    "DemoSummary",
    "build_demo",
    "make_call",
    "make_reid_demo",
    "run_demo",
    "write_calls_demo",
    "write_reid_demo",
]
