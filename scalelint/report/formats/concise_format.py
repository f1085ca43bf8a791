"""Concise text: one line per finding (``path:line:col: CODE message``),
then the summary, as Ruff's ``--output-format concise``."""
from __future__ import annotations

from scalelint.report.formats import ReportContext
from scalelint.report.formats.text_format import summary


def render(ctx: ReportContext) -> str:
    lines = [f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}" for f in ctx.findings]
    if not ctx.quiet:
        lines.append(summary(ctx, ctx.color))
    return "\n".join(lines) + "\n" if lines else ""
