"""The package keeps the shape docs/architecture.md describes.

No module over 800 lines; no private name (``_x``, or anything from a ``_x``
module) imported from another sub-package; ``import estates`` leaves the
libraries only pages and large builds need unloaded (tests/test_api.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "estates"
MAX_LINES = 800
MODULES = sorted(PACKAGE.rglob("*.py"))


def _group(module: str) -> str:
    """Return the sub-package a dotted module belongs to (a top-level module is its own)."""
    parts = module.split(".")
    if len(parts) < 2:
        return module
    top = PACKAGE / parts[1]
    return parts[1] if top.is_dir() else module


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_imports(source: str, importer: str) -> list[str]:
    """Return ``importer -> target`` for each private name ``source`` takes from another group."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [(alias.name, "") for alias in node.names]
        else:
            continue
        for module, name in targets:
            if not module.startswith("estates") or _group(module) == _group(importer):
                continue
            private_path = any(_is_private(part) for part in module.split("."))
            if private_path or _is_private(name):
                found.append(f"{importer} -> {module}{':' + name if name else ''}")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_800_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines; split it"


def test_no_private_name_is_imported_across_sub_packages() -> None:
    crossings = [
        c
        for path in MODULES
        for c in _private_imports(path.read_text(encoding="utf-8"), _module_name(path))
    ]
    assert crossings == []


def test_the_private_import_check_sees_a_crossing() -> None:
    assert _group("estates.render.maps") == "render"
    assert _group("estates.findings") == "estates.findings"
    source = (
        "from estates.render.payload import _round\n"
        "from estates.stages.join._grid import grid\n"
        "import estates.io._secret\n"
        "from estates.builder.rows import _local\n"  # same sub-package: allowed
        "from estates.stages.validate import add_flag\n"  # public: allowed
        "def f():\n    from estates.report.aggregate import _text\n"
    )
    assert _private_imports(source, "estates.builder.engine") == [
        "estates.builder.engine -> estates.render.payload:_round",
        "estates.builder.engine -> estates.stages.join._grid:grid",
        "estates.builder.engine -> estates.io._secret",
        "estates.builder.engine -> estates.report.aggregate:_text",
    ]
