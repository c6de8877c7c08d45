"""The package's shape: no import cycles (lazy imports inside functions included), small modules.

The layers themselves are import-linter's contract in pyproject.toml, run by `make test`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
MAX_LINES = {"alertd": 400, "bench": 300}
SCRATCH = REPO / "bench" / "work"  # the bench's git-ignored output, with other revisions' alertd unpacked in it


def cycles(package: str) -> list[list[str]]:
    """Every strongly connected set of two or more modules in `package`'s import graph (Tarjan)."""
    graph = grimp.build_graph(package, cache_dir=None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for nxt in sorted(graph.find_modules_directly_imported_by(module)):
            if nxt not in index:
                visit(nxt)
                low[module] = min(low[module], low[nxt])
            elif nxt in on_stack:
                low[module] = min(low[module], index[nxt])
        if low[module] == index[module]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_alertd_has_no_import_cycles() -> None:
    assert cycles("alertd") == []


def test_a_cycle_through_a_lazy_import_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: a cycle hidden behind an import inside a function counts."""
    pkg = tmp_path / "cyclic_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyclic_pkg import b\n")
    (pkg / "b.py").write_text("def later():\n    from cyclic_pkg import a  # noqa\n    return a\n")
    (pkg / "c.py").write_text("from cyclic_pkg import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert cycles("cyclic_pkg") == [["cyclic_pkg.a", "cyclic_pkg.b"]]
    finally:
        for name in [m for m in sys.modules if m.startswith("cyclic_pkg")]:
            del sys.modules[name]


@pytest.mark.parametrize("top", sorted(MAX_LINES))
def test_no_module_is_over_its_size(top: str) -> None:
    limit = MAX_LINES[top]
    sizes = {str(p.relative_to(REPO)): len(p.read_text().splitlines()) for p in (REPO / top).rglob("*.py")
             if not p.is_relative_to(SCRATCH)}
    assert sizes, f"no modules found under {top}/"
    assert {path: n for path, n in sizes.items() if n > limit} == {}, f"modules over {limit} lines"
