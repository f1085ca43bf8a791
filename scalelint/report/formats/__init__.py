"""Output formats. Each reporter module has ``render(ctx) -> str``; only the
one asked for is imported."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scalelint.core.findings import FileError, Finding
    from scalelint.rule import Rule

FORMATS = ("text", "concise", "json", "sarif", "github", "junit")


@dataclass
class ReportContext:
    findings: list["Finding"]
    errors: list["FileError"]
    rules: dict[str, type["Rule"]]  # every known rule, by code
    files: int = 0
    fixed: int = 0
    statistics: bool = False
    stale_baseline: list[str] = field(default_factory=list)  # baseline entries matching nothing now
    color: bool = False
    show_fix_hint: bool = True
    unsafe_fixes: bool = False
    source_lines: dict[str, list[str]] = field(default_factory=dict)  # path -> lines (text format)
    version: str = ""
    quiet: bool = False
    #: per code context (--statistics): files in it, files skipped, findings dropped
    context_files: dict[str, int] = field(default_factory=dict)
    context_skipped: dict[str, int] = field(default_factory=dict)
    context_dropped: dict[str, int] = field(default_factory=dict)
    templated: int = 0  # template files left out by discovery
    #: findings below min-confidence, not reported: rule code -> how many
    hidden: dict[str, int] = field(default_factory=dict)
    fixed_codes: dict[str, list[str]] = field(default_factory=dict)  # --show-fixes: path -> codes fixed


def related_lines(finding: "Finding") -> list[str]:
    """``related: path:line:column: message`` for each related place, for formats
    that carry them as plain text (GitHub annotations, JUnit failures)."""
    return [f"related: {r.path}:{r.line}:{r.column}: {r.message}" for r in finding.related]


def render(fmt: str, ctx: ReportContext) -> str:
    module = importlib.import_module(f"scalelint.report.formats.{fmt}_format")
    return module.render(ctx)
