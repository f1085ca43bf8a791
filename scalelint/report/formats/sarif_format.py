"""SARIF 2.1.0, as GitHub code scanning accepts it: rule metadata (id, name,
short and full description, help text and URI) and one result per finding."""
from __future__ import annotations

import json
from pathlib import PurePath
from urllib.parse import quote

from scalelint.core.findings import Confidence, Related
from scalelint.report.formats import ReportContext

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _uri(path: str) -> str:
    posix = PurePath(path).as_posix()
    if posix.startswith("/"):
        return "file://" + quote(posix)
    while posix.startswith("./"):
        posix = posix[2:]
    return quote(posix)


def _related_location(index: int, related: Related) -> dict:
    return {
        "id": index,
        "message": {"text": related.message},
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(related.path), "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": related.line, "startColumn": related.column},
        },
    }


def render(ctx: ReportContext) -> str:
    codes = sorted(ctx.rules)
    index = {code: i for i, code in enumerate(codes)}
    rules = []
    for code in codes:
        rule = ctx.rules[code]
        docs = rule.docs()
        rules.append({
            "id": code,
            "name": "".join(part.capitalize() for part in rule.name.split("-")),
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.doc_section("What it does") or rule.summary},
            "help": {"text": docs, "markdown": docs},
            "helpUri": rule.help_uri(),
            "defaultConfiguration": {"level": "warning"},
            "properties": {"tags": ["scalability"], "fixable": rule.fix_safety is not None},
        })
    results = []
    for f in ctx.findings:
        result = {
            "ruleId": f.code,
            "level": "warning" if f.confidence is Confidence.HIGH else "note",
            "message": {"text": f.message},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(f.path), "uriBaseId": "%SRCROOT%"},
                    "region": {
                        "startLine": f.line, "startColumn": f.column,
                        "endLine": f.end_line, "endColumn": f.end_column,
                    },
                }
            }],
        }
        result["properties"] = {"confidence": f.confidence.value}
        if f.related:
            result["relatedLocations"] = [_related_location(i, r) for i, r in enumerate(f.related)]
        if f.code in index:
            result["ruleIndex"] = index[f.code]
        results.append(result)
    notifications = [
        {
            "level": "error",
            "message": {"text": e.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(e.path)}}}],
        }
        for e in ctx.errors
    ]
    run = {
        "tool": {"driver": {
            "name": "scalelint",
            "version": ctx.version,
            "informationUri": "https://github.com/scalelint/scalelint",
            "rules": rules,
        }},
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    if notifications:
        run["invocations"] = [{"executionSuccessful": True, "toolExecutionNotifications": notifications}]
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"
