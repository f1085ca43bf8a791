"""JUnit XML: one test case per checked file with findings, one failure per finding."""
from __future__ import annotations

from collections import defaultdict
from xml.sax.saxutils import escape, quoteattr

from scalelint.report.formats import ReportContext, related_lines


def render(ctx: ReportContext) -> str:
    by_path = defaultdict(list)
    for f in ctx.findings:
        by_path[f.path].append(f)
    errors = {e.path: e for e in ctx.errors}
    failures = len(ctx.findings)
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    out.append(
        f'<testsuites name="scalelint" tests="{max(len(by_path) + len(errors), 1)}" '
        f'failures="{failures}" errors="{len(errors)}">'
    )
    out.append(
        f'  <testsuite name="scalelint" tests="{max(len(by_path) + len(errors), 1)}" '
        f'failures="{failures}" errors="{len(errors)}">'
    )
    if not by_path and not errors:
        out.append('    <testcase name="scalelint" classname="scalelint"/>')
    for path in sorted(by_path):
        out.append(f"    <testcase name={quoteattr(path)} classname={quoteattr(path)}>")
        for f in by_path[path]:
            message = f"{f.code} {f.message}"
            body = "\n".join([f"{f.path}:{f.line}:{f.column}: {message}", *related_lines(f)])
            out.append(
                f"      <failure message={quoteattr(message)} type={quoteattr(f.code)}>"
                f"{escape(body)}</failure>"
            )
        out.append("    </testcase>")
    for path in sorted(errors):
        out.append(f"    <testcase name={quoteattr(path)} classname={quoteattr(path)}>")
        out.append(f"      <error message={quoteattr(errors[path].message)}/>")
        out.append("    </testcase>")
    out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"
