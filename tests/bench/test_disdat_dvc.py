"""benchmarks/disdat/dvc.yaml, the DISDAT benchmark as its own DVC pipeline, held to the code:
stage deps covering the modules the
`geoloc bench` command imports, params the command accepts, and nothing that `dvc pull` or
the main pipeline's experiments would try to fetch."""

from __future__ import annotations

from pathlib import Path

import yaml

from geoloc.bench.disdat import parse_learner, parse_set
from geoloc.bench.disdat.learners import check_background
from tests.test_dvc_deps import REPO, import_closure

PIPELINE = REPO / "benchmarks" / "disdat"


def _params() -> dict:
    return yaml.safe_load((PIPELINE / "params.yaml").read_text())


def test_stages_depend_on_every_module_the_command_imports():
    stages = yaml.safe_load((PIPELINE / "dvc.yaml").read_text())["stages"]
    closure = import_closure(REPO / "geoloc" / "commands" / "bench.py")
    for name in ("select", "bench"):
        deps = [Path(d.removeprefix("../../")) for d in stages[name]["deps"] if "$" not in d]
        missing = sorted(str(m) for m in closure if not any(m == d or d in m.parents for d in deps))
        assert not missing, f"{name} imports but does not depend on: {missing}"
    convert = [Path(d.removeprefix("../../")) for d in stages["convert"]["deps"]]
    assert (
        Path("geoloc/bench/disdat/convert.py") in convert and "${rds}" in stages["convert"]["deps"]
    )
    assert "${data}" in stages["bench"]["deps"] and "${data}" in stages["select"]["deps"]
    cv = {"cv_folds", "cv_learners"}
    assert set(stages["bench"]["params"]) == set(_params()) - {"rds", *cv}
    assert set(stages["select"]["params"]) == set(_params()) - {"rds", "learners", "backgrounds"}


def test_no_import_or_cached_output_for_pull_or_experiments_to_fetch():
    """A temp experiment of the main pipeline checks out every .dvc file and cached output in the
    repository: imports there cost it a failed download each, unrun cached outputs a warning."""
    assert not list(PIPELINE.rglob("*.dvc"))
    for stage in yaml.safe_load((PIPELINE / "dvc.yaml").read_text())["stages"].values():
        for out in stage["outs"]:
            assert isinstance(out, dict) and next(iter(out.values()))["cache"] is False, out


def test_the_params_are_names_the_command_accepts():
    params = _params()
    for name in params["sets"].split(","):
        parse_set(name)
    for name in params["learners"].split(",") + params["cv_learners"].split(","):
        parse_learner(name)
    assert params["cv_folds"] >= 2
    # the chosen configuration is among the candidates the CV scored
    assert set(params["learners"].split(",")) <= set(params["cv_learners"].split(","))
    for name in params["backgrounds"].split(","):
        check_background(name)
