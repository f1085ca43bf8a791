"""A baseline lets a legacy codebase adopt scalelint without fixing
everything first: findings recorded in the file are not reported again.

Entries are keyed by the file's path relative to the project root (the
directory of the config file), the code and the text of the reported line
(not its number): the same finding matches however the path was typed
(absolute, ``./``, from a subdirectory), and unrelated edits that move code
around keep the baseline valid. Version 1 baselines (keyed by the path as
typed) are read as if written from the project root.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from scalelint.core.errors import UsageError
from scalelint.core.files import write_atomic_bytes
from scalelint.core.findings import Finding
from scalelint.core.lines import split_lines

VERSION = 2
READABLE = (1, 2)


def project_path(path: str, root: Path) -> str:
    """``path`` (as typed, relative to the working directory) relative to the
    project root, in POSIX spelling; absolute when it lies outside the root."""
    real = os.path.realpath(path)
    base = os.path.realpath(root)
    if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
        return Path(os.path.relpath(real, base)).as_posix()
    return Path(real).as_posix()


def _key(finding: Finding, texts: dict[str, str], root: Path) -> str:
    lines = split_lines(texts.get(finding.path, ""))
    line = lines[finding.line - 1].strip() if 0 < finding.line <= len(lines) else ""
    digest = hashlib.sha1(line.encode("utf-8", "replace")).hexdigest()[:12]
    return f"{project_path(finding.path, root)}::{finding.code}::{digest}"


def _file_of(key: str) -> str:
    return key.rsplit("::", 2)[0]


@dataclass
class BaselineResult:
    """The findings a baseline leaves to report, and its stale entries."""

    findings: list[Finding]
    stale: list[str] = field(default_factory=list)  # keys matching no finding in a checked file


def configured(root: Path, setting: str | None, given: Path | None = None) -> Path | None:
    """The baseline file a run uses: the one given (``--baseline``), else the
    configuration's ``baseline`` setting (relative to the project ``root``), else none."""
    if given is not None:
        return given
    return root / setting if setting else None


def filtered(
    findings: list[Finding], root: Path, setting: str | None, texts: dict[str, str], checked: list[str],
    given: Path | None = None,
) -> BaselineResult:
    """The findings of a run (the command line's, or an editor buffer's) once
    the run's baseline file (see ``configured``) has dropped those it records;
    all of them when there is no baseline."""
    path = configured(root, setting, given)
    if path is None:
        return BaselineResult(findings)
    return apply(findings, load(path, root), texts, root, checked)


#: the entries of the baseline files read, by (path, root), with the file's (inode, mtime, size) they were read at
_LOADED: dict[tuple[str, str], tuple[tuple[int, int, int], Counter[str]]] = {}


def load(path: Path, root: Path) -> Counter[str]:
    """The entries of a baseline file, keyed as this version keys them (read
    again only when the file changed: an editor applies it at every lint)."""
    try:
        stat = path.stat()
    except OSError:
        return _read(path, root)
    key, stamp = (str(path), str(root)), (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    known = _LOADED.get(key)
    if known is None or known[0] != stamp:
        known = _LOADED[key] = (stamp, _read(path, root))
    return Counter(known[1])


def _read(path: Path, root: Path) -> Counter[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: baseline file not found (create it with --write-baseline)") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a scalelint baseline: {exc}") from None
    if not isinstance(data, dict) or data.get("version") not in READABLE or not isinstance(data.get("findings"), dict):
        raise UsageError(f"{path}: not a scalelint baseline (version {VERSION} expected)")
    entries = Counter({str(k): int(v) for k, v in data["findings"].items()})
    return _migrate(entries, root) if data["version"] == 1 else entries


def _migrate(entries: Counter[str], root: Path) -> Counter[str]:
    """Version 1 keys hold the path as typed; read it from the project root."""
    migrated: Counter[str] = Counter()
    for key, count in entries.items():
        path, _, rest = key.partition("::")
        typed = path if os.path.isabs(path) else os.path.join(root, path)
        migrated[f"{project_path(typed, root)}::{rest}"] += count
    return migrated


def apply(
    findings: list[Finding], baseline: Counter[str], texts: dict[str, str], root: Path, checked: list[str],
) -> BaselineResult:
    """Drop as many findings per key as the baseline recorded; entries of
    checked files left over are stale."""
    remaining = Counter(baseline)
    kept = []
    for finding in findings:
        key = _key(finding, texts, root)
        if remaining[key] > 0:
            remaining[key] -= 1
        else:
            kept.append(finding)
    files = {project_path(path, root) for path in checked}
    stale = sorted(key for key, count in remaining.items() if count > 0 and _file_of(key) in files)
    return BaselineResult(kept, stale)


def write(path: Path, findings: list[Finding], texts: dict[str, str], root: Path) -> None:
    counts = Counter(_key(f, texts, root) for f in findings)
    payload = {"version": VERSION, "tool": "scalelint", "findings": dict(sorted(counts.items()))}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic_bytes(path, (json.dumps(payload, indent=2) + "\n").encode("utf-8"))
