"""The rooms of the package import downward only: at run time, inside
functions and in ``TYPE_CHECKING`` blocks alike (docs/architecture.md)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: rooms from the bottom up; a module may import its own room and the rooms below
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("scalelint.core", "scalelint.__init__")),
    ("model core", ("scalelint.model",)),
    ("model families", ("scalelint.model.connections", "scalelint.model.flow", "scalelint.model.caches")),
    ("rule API", ("scalelint.rule", "scalelint.context", "scalelint.project")),
    ("fixes", ("scalelint.fix",)),
    ("rules", ("scalelint.rules",)),
    ("report", ("scalelint.report",)),
    ("engine", ("scalelint.engine",)),
    ("faces", ("scalelint.cli", "scalelint.lsp", "scalelint.api", "scalelint.terminal", "scalelint.docsgen", "scalelint.__main__")),
]
#: type-only edges allowed to close a cycle, each with its reason
TYPE_ONLY_BACK_REFERENCES = {
    # A function model keeps a reference to the module model that builds it; the
    # module imports function.py at run time, function.py names ModuleModel in a
    # TYPE_CHECKING block only.
    ("scalelint.model.function", "scalelint.model.module"),
}
FAMILIES = ("scalelint.model.connections", "scalelint.model.flow", "scalelint.model.caches")


def _room(module: str) -> tuple[int, str] | None:
    """(layer index, room prefix) of a scalelint module: the longest prefix wins."""
    best: tuple[int, int, str] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix), prefix)
    if module == "scalelint":
        return 0, "scalelint.__init__"
    return None if best is None else (best[0], best[2])


def _modules() -> dict[str, Path]:
    found = {}
    for path in (ROOT / "scalelint").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts.pop()
        found[".".join(parts)] = path
    for path in (ROOT / "rules").rglob("*.py"):
        parts = ["scalelint", "rules", *path.relative_to(ROOT / "rules").with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    modules = _modules()
    return {name for name in out if name in modules and name != module}


def test_every_module_has_a_room() -> None:
    assert [m for m in _modules() if _room(m) is None] == []


def test_rooms_import_downward_only() -> None:
    climbing = []
    for module, path in sorted(_modules().items()):
        layer, room = _room(module)  # type: ignore[misc]
        for target in sorted(_imports(module, path)):
            target_layer, target_room = _room(target)  # type: ignore[misc]
            if target_layer > layer:
                climbing.append(f"{module} -> {target}")
            elif room in FAMILIES and target_room in FAMILIES and room != target_room:
                climbing.append(f"{module} -> {target} (model families do not import each other)")
    assert climbing == []


def test_no_import_cycles_between_modules() -> None:
    """Not even through type-only or function-level imports."""
    modules = _modules()
    graph = {
        m: {t for t in _imports(m, p) if modules[t].name != "__init__.py" and (m, t) not in TYPE_ONLY_BACK_REFERENCES}
        for m, p in modules.items()
    }
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [node, nxt]) if nxt in stack else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, stack + [node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert cycles == []


@pytest.mark.parametrize("public", ["scalelint.rule", "scalelint.context", "scalelint.project"])
def test_rule_author_api_stays_where_plugins_import_it(public: str) -> None:
    assert public in _modules()


def test_tests_import_their_helpers_by_module_name() -> None:
    """``tests`` is not a package: CI (a fresh clone, an installed project) can
    import ``helpers`` (conftest puts tests/ on the path) but not ``tests.helpers``."""
    here = Path(__file__).parent
    offenders = [p.name for p in here.glob("*.py") if re.search(r"^\s*(from|import) tests\b", p.read_text(), re.M)]
    assert offenders == []
