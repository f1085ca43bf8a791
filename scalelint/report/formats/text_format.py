"""Text for people: location, code, message, the source line with a caret,
whether a fix is available, and a summary."""
from __future__ import annotations

from collections import Counter

from scalelint.core.findings import FixSafety
from scalelint.report.formats import ReportContext

_BOLD, _RED, _CYAN, _YELLOW, _GREEN, _DIM, _RESET = (
    "\x1b[1m", "\x1b[31m", "\x1b[36m", "\x1b[33m", "\x1b[32m", "\x1b[2m", "\x1b[0m",
)


def render(ctx: ReportContext) -> str:
    paint = _painter(ctx.color)
    out: list[str] = []
    for f in ctx.findings:
        head = (
            f"{paint(f.path, _BOLD)}:{f.line}:{f.column}: {paint(f.code, _RED + _BOLD)} {f.message}"
        )
        out.append(head)
        lines = ctx.source_lines.get(f.path)
        if lines and 0 < f.line <= len(lines):
            source = lines[f.line - 1].rstrip("\r\n").expandtabs(4)
            gutter = f"{f.line:>4} | "
            out.append(paint(gutter, _CYAN) + source)
            width = (f.end_column - f.column) if f.end_line == f.line else len(source) - f.column + 1
            caret = " " * (len(gutter) + f.column - 1) + "^" * max(1, min(width, max(1, len(source) - f.column + 1)))
            out.append(paint(caret, _RED))
        for r in f.related:
            out.append(paint(f"  related: {r.path}:{r.line}:{r.column}: {r.message}", _DIM))
        if f.fix is not None:
            if f.fix.safety is FixSafety.SAFE:
                out.append(paint(f"  fix available: {f.fix.message} (run with --fix)", _GREEN))
            else:
                out.append(paint(f"  unsafe fix available: {f.fix.message} (run with --fix --unsafe-fixes)", _YELLOW))
        out.append("")
    if ctx.quiet:
        return "\n".join(out[:-1]) + "\n" if out else ""
    out.append(_summary(ctx, paint))
    return "\n".join(out) + "\n"


def summary(ctx: ReportContext, color: bool = False) -> str:
    """The closing lines: counts, fixes, errors (the concise format ends with them too)."""
    return _summary(ctx, _painter(color))


def _summary(ctx: ReportContext, paint) -> str:
    n = len(ctx.findings)
    lines = []
    if ctx.statistics and (n or ctx.hidden):
        counts = Counter(f.code for f in ctx.findings)
        fixable = Counter(f.code for f in ctx.findings if f.fix is not None)
        for code in sorted(set(counts) | set(ctx.hidden), key=lambda c: (-counts[c], c)):
            name = ctx.rules[code].name if code in ctx.rules else ""
            mark = " [*]" if fixable[code] else ""
            low = f" (+{ctx.hidden[code]} at low confidence)" if ctx.hidden.get(code) else ""
            lines.append(f"{counts[code]:>5}  {code:<6} {name}{mark}{low}")
    if ctx.statistics:
        lines.extend(_context_lines(ctx))
    if ctx.statistics and ctx.stale_baseline:
        lines.append(_stale_baseline(ctx.stale_baseline))
    if ctx.fixed_codes:
        lines.append(_fixes_shown(ctx))
    if ctx.fixed:
        lines.append(paint(f"Fixed {ctx.fixed} finding{'s' if ctx.fixed != 1 else ''}.", _GREEN))
    if n == 0:
        lines.append(paint(f"All clear: {ctx.files} file{'s' if ctx.files != 1 else ''} checked, nothing found.", _GREEN))
    else:
        counts = Counter(f.code for f in ctx.findings)
        by_rule = ", ".join(f"{code} x{count}" for code, count in sorted(counts.items()))
        safe = sum(1 for f in ctx.findings if f.fix is not None and f.fix.safety is FixSafety.SAFE)
        unsafe = sum(1 for f in ctx.findings if f.fix is not None and f.fix.safety is FixSafety.UNSAFE)
        lines.append(paint(
            f"Found {n} finding{'s' if n != 1 else ''} in {ctx.files} file{'s' if ctx.files != 1 else ''} checked ({by_rule}).",
            _BOLD,
        ))
        if safe:
            lines.append(f"{safe} fixable with --fix.")
        if unsafe:
            lines.append(f"{unsafe} more fixable with --fix --unsafe-fixes.")
    if ctx.hidden:
        lines.append(f"{sum(ctx.hidden.values())} more at low confidence (--min-confidence low shows them).")
    if ctx.errors:
        lines.append(paint(f"{len(ctx.errors)} file{'s' if len(ctx.errors) != 1 else ''} could not be checked (see errors above).", _YELLOW))
    return "\n".join(lines)


def _context_lines(ctx: ReportContext) -> list[str]:
    """Where code contexts left files or findings out (scalelint.model.contexts)."""
    lines = []
    for context in sorted(set(ctx.context_files) | set(ctx.context_dropped)):
        files, skipped = ctx.context_files.get(context, 0), ctx.context_skipped.get(context, 0)
        dropped = ctx.context_dropped.get(context, 0)
        if context == "request" and not dropped:
            continue
        parts = [f"{files} file{'s' if files != 1 else ''}"]
        if skipped:
            parts.append(f"{skipped} skipped (no selected rule checks {context} code)")
        if dropped:
            parts.append(f"{dropped} finding{'s' if dropped != 1 else ''} dropped")
        lines.append(f"context {context}: {', '.join(parts)}")
    if ctx.templated:
        lines.append(f"templates: {ctx.templated} path{'s' if ctx.templated != 1 else ''} with '{{{{' in the name skipped (not Python yet)")
    return lines
def _fixes_shown(ctx: ReportContext) -> str:
    """--show-fixes: what --fix changed, per file and rule."""
    lines = ["Fixes applied:"]
    for path in sorted(ctx.fixed_codes):
        lines.append(f"- {path}:")
        for code, count in sorted(Counter(ctx.fixed_codes[path]).items()):
            name = ctx.rules[code].name if code in ctx.rules else ""
            lines.append(f"    {count} x {code} ({name})" if name else f"    {count} x {code}")
    return "\n".join(lines)


def _stale_baseline(stale: list[str]) -> str:
    """Baseline entries no finding matches any more (fixed, or the line changed)."""
    head = f"{len(stale)} baseline entr{'ies' if len(stale) != 1 else 'y'} no longer match a finding (stale; rewrite with --write-baseline):"
    return "\n".join([head, *(f"  {key}" for key in stale)])


def _painter(color: bool):
    if not color:
        return lambda text, _style: text
    return lambda text, style: f"{style}{text}{_RESET}"
