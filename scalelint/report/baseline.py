"""A baseline lets a legacy codebase adopt scalelint without fixing
everything first: findings recorded in the file are not reported again.

Entries are keyed by path, code and the text of the reported line (not its
number), so unrelated edits that move code around keep the baseline valid.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from scalelint.core.files import write_atomic_bytes
from scalelint.core.errors import UsageError
from scalelint.core.findings import Finding
from scalelint.core.lines import split_lines

VERSION = 1


def _key(finding: Finding, texts: dict[str, str]) -> str:
    lines = split_lines(texts.get(finding.path, ""))
    line = lines[finding.line - 1].strip() if 0 < finding.line <= len(lines) else ""
    digest = hashlib.sha1(line.encode("utf-8", "replace")).hexdigest()[:12]
    return f"{Path(finding.path).as_posix()}::{finding.code}::{digest}"


def load(path: Path) -> Counter[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: baseline file not found (create it with --write-baseline)") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a scalelint baseline: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("findings"), dict):
        raise UsageError(f"{path}: not a scalelint baseline (version {VERSION} expected)")
    return Counter({k: int(v) for k, v in data["findings"].items()})


def apply(findings: list[Finding], baseline: Counter[str], texts: dict[str, str]) -> list[Finding]:
    """Drop as many findings per key as the baseline recorded."""
    remaining = Counter(baseline)
    kept = []
    for finding in findings:
        key = _key(finding, texts)
        if remaining[key] > 0:
            remaining[key] -= 1
        else:
            kept.append(finding)
    return kept


def write(path: Path, findings: list[Finding], texts: dict[str, str]) -> None:
    counts = Counter(_key(f, texts) for f in findings)
    payload = {"version": VERSION, "tool": "scalelint", "findings": dict(sorted(counts.items()))}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic_bytes(path, (json.dumps(payload, indent=2) + "\n").encode("utf-8"))
