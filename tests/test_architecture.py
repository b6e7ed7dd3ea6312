"""The import graph of syncd/ against the layer table in docs/architecture.md.

The table is the documentation and the rule at once: a module that imports upward, or
a module the table does not place, fails here, so the page cannot drift from the code.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "syncd"
DOC = REPO / "docs" / "architecture.md"


def layer_table() -> dict[str, tuple[list[str], set[str]]]:
    """layer name -> (module patterns, layers it may import), read from the doc's table."""
    table: dict[str, tuple[list[str], set[str]]] = {}
    in_table = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| layer | modules | may import |"):
            in_table = True
            continue
        if in_table and line.startswith("|---"):
            continue
        if in_table and not line.startswith("|"):
            break
        if in_table:
            name, modules, allowed = (cell.strip() for cell in line.strip("|").split("|"))
            table[name] = (re.findall(r"`([^`]+)`", modules), {item.strip() for item in allowed.split(",")})
    return table


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str, table: dict[str, tuple[list[str], set[str]]]) -> str | None:
    """The layer of the longest pattern that matches (`syncd.sources.*` covers the package too)."""
    best: tuple[int, str] | None = None
    for layer, (patterns, _) in table.items():
        for pattern in patterns:
            if pattern.endswith(".*"):
                base = pattern[:-2]
                matches = module == base or module.startswith(base + ".")
            else:
                matches = module == pattern
            if matches and (best is None or len(pattern) > best[0]):
                best = (len(pattern), layer)
    return best[1] if best else None


def imports_of(path: Path) -> set[str]:
    """Every syncd module this file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("syncd"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("syncd"))
    return found


def existing_modules() -> set[str]:
    return {module_name(path) for path in PACKAGE.rglob("*.py")}


def test_the_table_is_there() -> None:
    table = layer_table()
    assert {"base", "decisions", "store", "edges", "cli"} <= set(table)
    for _, allowed in table.values():
        assert allowed <= set(table)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: module_name(path))
def test_imports_point_down(path: Path) -> None:
    table = layer_table()
    module = module_name(path)
    layer = layer_of(module, table)
    assert layer is not None, f"{module} is in no layer: add it to the table in docs/architecture.md"
    allowed = table[layer][1]
    modules = existing_modules()
    upward = []
    for imported in sorted(imports_of(path)):
        if imported not in modules:  # `from syncd.x import name` also yields syncd.x.name
            continue
        target = layer_of(imported, table)
        if target is not None and target not in allowed:
            upward.append(f"{imported} ({target})")
    assert not upward, f"{module} ({layer}) imports upward: {', '.join(upward)}"


def test_a_known_upward_import_is_caught(tmp_path: Path) -> None:
    """The check itself can fail: a decision module importing the store is reported."""
    table = layer_table()
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from syncd.store import Store\n    return Store\n")
    imported = imports_of(probe)
    assert "syncd.store" in imported
    assert layer_of("syncd.store", table) not in table[layer_of("syncd.cold", table) or ""][1]
