"""GitHub Actions workflow commands: one ``::error`` annotation per finding
(``::warning`` for a low-confidence one, reported under ``--min-confidence low``)."""
from __future__ import annotations

from scalelint.core.findings import Confidence
from scalelint.report.formats import ReportContext, related_lines


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render(ctx: ReportContext) -> str:
    lines = []
    for f in ctx.findings:
        props = (
            f"file={_escape_property(f.path)},line={f.line},col={f.column},"
            f"endLine={f.end_line},endColumn={f.end_column},"
            f"title={_escape_property(f'{f.code} {f.name}')}"
        )
        text = "\n".join([f"{f.code} {f.message}", *related_lines(f)])
        kind = "error" if f.confidence is Confidence.HIGH else "warning"  # low: shown only when asked for
        lines.append(f"::{kind} {props}::{_escape_data(text)}")
    for e in ctx.errors:
        lines.append(f"::error file={_escape_property(e.path)},title=scalelint::{_escape_data(e.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
