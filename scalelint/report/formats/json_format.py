"""JSON: an array of finding objects (the stable contract in design.md)."""
from __future__ import annotations

import json

from scalelint.report.formats import ReportContext


def render(ctx: ReportContext) -> str:
    return json.dumps([f.to_json() for f in ctx.findings], indent=2) + "\n"
