"""JUnit XML for CI test-report viewers: a test suite per file, a test case
per finding (one ``<failure>`` each) and per file that could not be checked
(one ``<error>``). Only elements and attributes of the common schema
(Jenkins' junit-10.xsd, which GitLab, Azure and most viewers read) are used."""
from __future__ import annotations

from collections import Counter, defaultdict
from xml.sax.saxutils import escape, quoteattr

from scalelint.report.formats import ReportContext, related_lines


def render(ctx: ReportContext) -> str:
    by_path: dict[str, list[str]] = defaultdict(list)
    failures: dict[str, int] = defaultdict(int)
    for f in ctx.findings:
        message = f"{f.code} {f.message}"
        body = "\n".join([f"{f.path}:{f.line}:{f.column}: {message}", *related_lines(f)])
        by_path[f.path].append(
            f"    <testcase name={quoteattr(f'{f.code} at line {f.line}, column {f.column}')} classname={quoteattr(f.path)}>\n"
            f"      <failure message={quoteattr(message)} type={quoteattr(f.code)}>{escape(body)}</failure>\n"
            "    </testcase>"
        )
        failures[f.path] += 1
    for e in ctx.errors:
        by_path[e.path].append(
            f"    <testcase name=\"could not be checked\" classname={quoteattr(e.path)}>\n"
            f"      <error message={quoteattr(e.message)} type=\"error\">{escape(str(e))}</error>\n"
            "    </testcase>"
        )
    if not by_path:
        by_path["scalelint"].append('    <testcase name="no findings" classname="scalelint"/>')
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    errors = Counter(e.path for e in ctx.errors)
    out.append(
        f'<testsuites name="scalelint" tests="{sum(len(cases) for cases in by_path.values())}" '
        f'failures="{len(ctx.findings)}" errors="{len(ctx.errors)}">'
    )
    for path in sorted(by_path):
        cases = by_path[path]
        out.append(
            f"  <testsuite name={quoteattr(path)} tests=\"{len(cases)}\" failures=\"{failures[path]}\" errors=\"{errors[path]}\">"
        )
        out.extend(cases)
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"
