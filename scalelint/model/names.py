"""Import and alias resolution: local names to fully qualified names.

A light table built from the module's import statements (at any depth),
not LibCST's QualifiedNameProvider, which is an order of magnitude slower.
"""
from __future__ import annotations

import libcst as cst

from scalelint.core.walk import dotted


def _attr_chain(node: cst.BaseExpression) -> str:
    return dotted(node) or ""


class ImportTable:
    """Maps a local name to the qualified name it was imported as."""

    def __init__(self, package: str = "") -> None:
        self.package = package  # for relative imports: the importing module's package
        self.names: dict[str, str] = {}
        self._resolved: dict[int, tuple[cst.BaseExpression, str | None]] = {}  # by id: the rules ask of the same nodes

    def add_statement(self, small: cst.BaseSmallStatement) -> None:
        """Record ``small`` if it is an ``import`` or ``from ... import``."""
        self._resolved.clear()
        if isinstance(small, cst.Import):
            self.add_import(small)
        elif isinstance(small, cst.ImportFrom):
            self.add_import_from(small)

    def add_import(self, node: cst.Import) -> None:
        self._resolved.clear()
        for alias in node.names:
            full = _attr_chain(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.names[alias.asname.name.value] = full
            else:
                head = full.split(".")[0]
                self.names[head] = head

    def add_import_from(self, node: cst.ImportFrom) -> None:
        self._resolved.clear()
        module = _attr_chain(node.module) if node.module is not None else ""
        if node.relative:
            module = self._absolute(len(node.relative), module)
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = _attr_chain(alias.name)
            local = (
                alias.asname.name.value
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name)
                else name
            )
            self.names[local] = f"{module}.{name}" if module else name

    def _absolute(self, level: int, module: str) -> str:
        parts = self.package.split(".") if self.package else []
        if level > 1:
            parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
        base = ".".join(parts)
        if base and module:
            return f"{base}.{module}"
        return base or module

    def resolve(self, expr: cst.BaseExpression) -> str | None:
        """Qualified name of a Name/Attribute chain whose head was imported."""
        known = self._resolved.get(id(expr))
        if known is not None and known[0] is expr:
            return known[1]
        found = self._resolve(expr)
        self._resolved[id(expr)] = (expr, found)
        return found

    def _resolve(self, expr: cst.BaseExpression) -> str | None:
        spelled = dotted(expr)
        if spelled is None:
            return None
        head, _, rest = spelled.partition(".")
        target = self.names.get(head)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target

    def imported(self, local: str) -> bool:
        return local in self.names
