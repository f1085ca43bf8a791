"""Render each rule's docs to docs/rules/<CODE>.md and the README's rule table.

``python -m scalelint.docsgen`` rewrites them; the test suite fails when they
are out of date, so docs and behaviour cannot drift apart.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from scalelint.engine.registry import Registry, load_registry

TABLE_START, TABLE_END = "<!-- rules-table:start -->", "<!-- rules-table:end -->"


def rule_page(rule) -> str:
    fix = rule.fix_safety.value if rule.fix_safety else "none"
    return f"# {rule.code} {rule.name}\n\n{rule.summary}.\n\nFix: {fix}.\n\n{rule.docs()}\n"


def rules_table(registry: Registry) -> str:
    rows = ["| Code | Name | What it finds | Fix |", "| --- | --- | --- | --- |"]
    for rule in registry.sorted():
        fix = {None: "", "safe": "safe", "unsafe": "unsafe"}[rule.fix_safety.value if rule.fix_safety else None]
        rows.append(f"| [{rule.code}](docs/rules/{rule.code}.md) | `{rule.name}` | {rule.summary} | {fix} |")
    return "\n".join(rows)


def expected_files(root: Path, registry: Registry) -> dict[Path, str]:
    files = {root / "docs" / "rules" / f"{r.code}.md": rule_page(r) for r in registry.sorted()}
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(TABLE_START) + r".*?" + re.escape(TABLE_END), re.S)
    files[readme] = pattern.sub(lambda _: f"{TABLE_START}\n{rules_table(registry)}\n{TABLE_END}", text)
    return files


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path.cwd()
    registry = load_registry()
    (root / "docs" / "rules").mkdir(parents=True, exist_ok=True)
    for path, content in expected_files(root, registry).items():
        path.write_text(content, encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
