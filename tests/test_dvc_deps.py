"""dvc.yaml is held to the code: every library module a stage's script can import is covered by
the stage's `deps` (so editing it reruns the stage), and each stage's outputs are the paths
`geoloc.layout.Layout` gives the step.

Imports are followed statically (ast), including imports inside functions. A module that uses
a registry table (e.g. `LEARNERS.get`) also reaches every module that table names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from geoloc import registry

REPO = Path(__file__).resolve().parents[1]
# Validation of names against the registry tables does not import what they name.
NAME_ONLY_USERS = {"geoloc/params.py", "geoloc/registry.py"}


def _module_file(name: str) -> Path | None:
    path = REPO / Path(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_names(tree: ast.AST, package: str) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in names if name.split(".")[0] == "geoloc"}


def _registry_targets(tree: ast.AST) -> set[str]:
    """Modules named by the registry tables this module uses."""
    tables = {
        name: value
        for name, value in vars(registry).items()
        if isinstance(value, registry.Registry)
    }
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    used |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    targets = set()
    for name in used & set(tables):
        targets.update(t.split(":")[0] for t in tables[name].targets().values())
    return targets


def import_closure(script: Path) -> set[Path]:
    """Repo-relative paths of the geoloc modules `script` can import, transitively."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        rel = path.relative_to(REPO)
        if rel in seen:
            continue
        seen.add(rel)
        tree = ast.parse(path.read_text())
        dotted = ".".join(rel.with_suffix("").parts)
        package = dotted if path.name == "__init__.py" else dotted.rsplit(".", 1)[0]
        names = _imported_names(tree, package)
        if str(rel) not in NAME_ONLY_USERS:
            names |= _registry_targets(tree)
        for name in names:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # a package's __init__ runs on import
                found = _module_file(".".join(parts[:i]))
                if found is not None:
                    todo.append(found)
    return {p for p in seen if p.parts[0] == "geoloc"}


def _stages() -> dict[str, dict]:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def _script(stage: dict) -> Path:
    cmd = stage.get("do", stage)["cmd"]
    return REPO / re.search(r"stages/[\w-]+\.py", cmd).group(0)


def _deps(stage: dict) -> list[str]:
    body = stage.get("do", stage)
    return [d for d in body.get("deps", []) if isinstance(d, str)]


@pytest.mark.parametrize("name", sorted(_stages()))
def test_stage_deps_cover_every_module_its_script_imports(name):
    stage = _stages()[name]
    deps = [Path(d.rstrip("/")) for d in _deps(stage) if not d.startswith("$")]
    missing = sorted(
        str(module)
        for module in import_closure(_script(stage))
        if not any(module == dep or dep in module.parents for dep in deps)
    )
    assert not missing, f"dvc.yaml stage {name!r} imports but does not depend on: {missing}"


def test_the_closure_follows_function_level_imports_and_registries(tmp_path):
    """The checker itself: a script importing inside a function, and a module using a
    registry table, reach their targets."""
    closure = import_closure(REPO / "geoloc" / "registry.py")
    assert Path("geoloc/registry.py") in closure
    script = REPO / "stages" / "train.py"
    assert Path("geoloc/errors.py") in import_closure(script)
