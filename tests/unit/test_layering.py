"""The packages' import direction: pipelines compose connectors and transforms, never the
other way round, so a connector or a transform can be used (and tested) without the
pipeline's settings, metrics or Beam jobs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# package -> the packages it must not import from
FORBIDDEN = {
    "connectors": ("pipelines", "infra"),
    "transforms": ("pipelines", "infra", "connectors"),
}


def imported_packages(path: Path) -> set[str]:
    """Top-level package names ``path`` imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_upwards(package: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(imported_packages(path) & set(FORBIDDEN[package]))
        for path in sorted((REPO / package).rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from pipelines import observability\n", encoding="utf-8")
    assert imported_packages(module) == {"pipelines"}
