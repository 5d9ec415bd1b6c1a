"""benchmarks/disdat/dvc.yaml, the DISDAT benchmark as its own DVC pipeline, held to the code:
frozen imports of every package file the converter reads, stage deps covering the modules the
`geoloc bench` command imports, and params the command accepts."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from geoloc.bench.disdat import parse_learner, parse_set
from geoloc.bench.disdat.learners import check_background
from tests.test_dvc_deps import REPO, import_closure

PIPELINE = REPO / "benchmarks" / "disdat"
SOURCE = re.compile(
    r"^https://raw\.githubusercontent\.com/rspatial/disdat/[0-9a-f]{40}/inst/extdata/(\S+\.rds)$"
)
GROUPS = {"AWT": ["bird", "plant"], "NSW": ["ba", "db", "nb", "ot", "ou", "rt", "ru", "sr"]}


def _params() -> dict:
    return yaml.safe_load((PIPELINE / "params.yaml").read_text())


def _imports() -> dict[str, dict]:
    return {
        path.name: yaml.safe_load(path.read_text())
        for path in (PIPELINE / "data" / "extdata").glob("*.rds.dvc")
    }


def test_every_package_file_of_the_benchmarked_regions_is_a_frozen_import_at_one_commit():
    imports = _imports()
    commits = set()
    for name, stage in imports.items():
        assert stage["frozen"] is True, name
        (dep,), (out,) = stage["deps"], stage["outs"]
        match = SOURCE.match(dep["path"])
        assert match and match.group(1) == out["path"] == name.removesuffix(".dvc"), name
        commits.add(dep["path"].split("/")[5])
    assert len(commits) == 1
    expected = set()
    for region in _params()["regions"].split(","):
        expected |= {f"{region}train_po.rds", f"{region}train_bg.rds"}
        suffixes = [f"_{g}" for g in GROUPS[region]] if region in GROUPS else [""]
        expected |= {f"{region}test_{kind}{s}.rds" for s in suffixes for kind in ("env", "pa")}
    assert {name.removesuffix(".dvc") for name in imports} == expected


def test_stages_depend_on_every_module_the_command_imports():
    stages = yaml.safe_load((PIPELINE / "dvc.yaml").read_text())["stages"]
    closure = import_closure(REPO / "geoloc" / "commands" / "bench.py")
    for name in ("bench",):
        deps = [Path(d.removeprefix("../../")) for d in stages[name]["deps"] if "$" not in d]
        missing = sorted(str(m) for m in closure if not any(m == d or d in m.parents for d in deps))
        assert not missing, f"{name} imports but does not depend on: {missing}"
    convert = [Path(d.removeprefix("../../")) for d in stages["convert"]["deps"]]
    assert Path("geoloc/bench/disdat/convert.py") in convert and Path("data/extdata") in convert
    assert "${data}" in stages["bench"]["deps"]
    assert set(stages["bench"]["params"]) == set(_params())


def test_the_params_are_names_the_command_accepts():
    params = _params()
    for name in params["sets"].split(","):
        parse_set(name)
    for name in params["learners"].split(","):
        parse_learner(name)
    for name in params["backgrounds"].split(","):
        check_background(name)
