"""Per-file results cached on disk, keyed by content hash (and module name),
scalelint version and code, effective config, selected rules. Safe
under concurrent runs (atomic renames), bounded in size, ignored by git.

Layout under ``.scalelint_cache/v<version>/``:

- ``stat-index.json``: path -> (mtime, size, digest, module), so unchanged
  files are answered without being read;
- ``rules-<fingerprint>.json``: rule metadata, so warm runs import no rules;
- ``<salt>/``, one bucket per configuration, rule selection and code:
  ``<dd>/<digest>.json`` per-file results (the source of truth),
  ``empty.json`` the digests of files with nothing to say (most of them),
  ``results.marshal`` every result in one file (findings and project facts
  marshalled apart, facts decoded only when needed), ``tree.json`` the
  project's file list with the stats of what the walk saw, and
  ``project/<key>.json`` project-phase findings keyed by every file's facts
  digest, with the paths they cover (a full run's result answers any part).
"""
from __future__ import annotations

import hashlib
import json
import marshal
import os
import shutil
import time
from pathlib import Path
from typing import Any

from scalelint import __version__
from scalelint.core.files import write_atomic_bytes
from scalelint.core.findings import FileResult, Finding, facts_digest, project_part

MAX_ENTRIES = 20000
MAX_BUCKETS = 8
#: a run adding fewer rows than this and than 1/64 of the table leaves the table as it is
TABLE_FOLD_MIN = 16
#: a file modified this close to the last index write is re-read (mtime granularity)
RACY_NS = 2_000_000_000


def content_hash(data: bytes, context: str = "") -> str:
    """The cache key of a file: its bytes, and the module name it is checked as
    (facts name their module, so the same text in two packages differs)."""
    h = hashlib.blake2b(context.encode(), digest_size=16)
    h.update(b"\0")
    h.update(data)
    return h.hexdigest()


class Cache:
    def __init__(self, directory: Path, salt: str) -> None:
        self.directory = directory
        self.salt = salt  # config fingerprint + selected rules + code
        self.bucket = directory / f"v{__version__}" / salt
        self._writes = 0
        self._ready = False
        self._stats: dict[str, list] | None = None
        self._stats_written = 0
        self._stats_dirty = False
        self._unscanned = 0  # entries written since the bucket was last scanned for pruning
        self._empty: set[str] | None = None
        self._empty_dirty = False
        self._results: dict[str, tuple[bytes, bytes, str]] | None = None
        self._added: dict[str, tuple[bytes, bytes, str]] = {}

    def _prepare(self) -> None:
        if self._ready:
            return
        self.bucket.mkdir(parents=True, exist_ok=True)
        ignore = self.directory / ".gitignore"
        if not ignore.exists():
            _atomic_write(ignore, "# created by scalelint\n*\n")
        self._ready = True

    # -- stat index: content digests of unchanged files without reading them ------
    @property
    def _stats_path(self) -> Path:
        return self.directory / f"v{__version__}" / "stat-index.json"

    def _load_stats(self) -> dict[str, list]:
        if self._stats is None:
            try:
                data = json.loads(self._stats_path.read_text(encoding="utf-8"))
                self._stats, self._stats_written = data["files"], data["written_ns"]
                self._unscanned = int(data.get("unscanned", 0))
            except (OSError, ValueError, KeyError, TypeError):
                self._stats, self._stats_written = {}, 0
        return self._stats

    def known_digest(self, path: Path | str, stat: os.stat_result, module: str) -> str | None:
        """The digest recorded for this file if its size and mtime are unchanged
        (and the mtime is not so recent that an edit could hide in it), and it
        is still checked as the same module."""
        entry = self._load_stats().get(str(path))
        if (
            entry is not None
            and entry[0] == stat.st_mtime_ns
            and entry[1] == stat.st_size
            and stat.st_mtime_ns < self._stats_written - RACY_NS
            and entry[3:4] == [module]
        ):
            return entry[2]
        return None

    def remember(self, path: Path, stat: os.stat_result, digest: str, module: str) -> None:
        stats = self._load_stats()
        key = str(path)
        value = [stat.st_mtime_ns, stat.st_size, digest, module]
        if stats.get(key) != value:
            stats[key] = value
            self._stats_dirty = True

    def save_stats(self) -> None:
        """Write the run's index files (stat index, empty results, project facts)
        if they changed."""
        self._save_table()
        if self._empty_dirty and self._empty is not None:
            try:
                self._prepare()
                if len(self._empty) > 4 * MAX_ENTRIES:
                    self._empty = set()
                _atomic_write(self.bucket / "empty.json", json.dumps(sorted(self._empty)))
            except OSError:
                pass
        if not self._stats_dirty or self._stats is None:
            return
        try:
            self._prepare()
            self._stats_path.parent.mkdir(parents=True, exist_ok=True)
            payload = {"written_ns": time.time_ns(), "unscanned": self._unscanned, "files": self._stats}
            _atomic_write(self._stats_path, json.dumps(payload, separators=(",", ":")))
        except OSError:
            pass

    def _entry(self, digest: str) -> Path:
        return self.bucket / digest[:2] / f"{digest}.json"

    # -- results with nothing in them (most files): one set, not one file each --
    def _load_empty(self) -> set[str]:
        if self._empty is None:
            try:
                self._empty = set(json.loads((self.bucket / "empty.json").read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                self._empty = set()
        return self._empty

    # -- the results table: every checked file's findings, suppressions and
    #    project facts in one file, so a run reads one file instead of one per
    #    source file. Each part is marshalled on its own: loading the table is
    #    cheap, and the (large) project facts are decoded only when the project
    #    phase must run. Per-file entries stay the source of truth. ----------
    @property
    def _table_path(self) -> Path:
        return self.bucket / "results.marshal"

    def _table(self) -> dict[str, tuple[bytes, bytes, str]]:
        """digest -> (marshalled [findings, suppressions], marshalled project
        facts, digest of those facts)."""
        if self._results is None:
            try:
                loaded = marshal.loads(self._table_path.read_bytes())
                valid = isinstance(loaded, dict) and all(type(v) is tuple and len(v) == 3 for v in loaded.values())
                self._results = loaded if valid else {}
            except (OSError, EOFError, ValueError, TypeError):
                self._results = {}
        return self._results

    def _row(self, digest: str) -> tuple[bytes, bytes, str] | None:
        """The table's row, else one made from the per-file entry (which a
        small run writes without rewriting the table; see _save_table)."""
        row = self._added.get(digest) or self._table().get(digest)
        if row is None:
            cached = self._read_entry(digest, "")
            if cached is not None:
                self._note(digest, cached)
                row = self._added.get(digest)
        return row

    def facts_digest_of(self, digest: str) -> str | None:
        """The facts digest of a file already checked under this (content)
        digest, without decoding its facts; None when the cache does not know it."""
        if digest in self._load_empty():
            return ""
        row = self._row(digest)
        return None if row is None else row[2]

    def project_facts(self, digest: str) -> dict[str, Any] | None:
        """The project facts of a file already checked under this digest: ``{}``
        when it has none, ``None`` when the cache does not know it."""
        if digest in self._load_empty():
            return {}
        row = self._row(digest)
        if row is not None:
            try:
                return marshal.loads(row[1])
            except (EOFError, ValueError, TypeError):
                pass
        cached = self._read_entry(digest, "")
        return None if cached is None else project_part(cached.facts)

    def _note(self, digest: str, result: FileResult) -> None:
        try:
            head = [[f.to_cache() for f in result.findings], result.facts.get("__suppressions__", [])]
            identity = result.facts_digest or facts_digest(result.facts)
            self._added[digest] = (marshal.dumps(head), marshal.dumps(project_part(result.facts)), identity)
        except ValueError:
            pass  # not marshallable: the per-file entry still has it

    def _save_table(self) -> None:
        """Fold the rows this run added into the table. A run that added only a
        few (pre-commit, editor on save) leaves the table as it is: rewriting
        every result for one file costs more than the check, and its per-file
        entries answer the next run until a bigger run folds them in."""
        if not self._added or len(self._added) < min(TABLE_FOLD_MIN, len(self._table()) / 64):
            return
        table = self._table()
        table.update(self._added)
        self._added = {}
        live = {entry[2] for entry in self._load_stats().values()}
        kept = {k: v for k, v in table.items() if k in live} if live else table
        try:
            self._prepare()
            write_atomic_bytes(self._table_path, marshal.dumps(kept))
        except (OSError, ValueError):
            pass

    # -- the project's file list, valid while no directory or ignore file of the
    #    walk that found it has changed ------------------------------------------
    def tree(self, root: str) -> list[str] | None:
        try:
            data = json.loads((self.bucket / "tree.json").read_text(encoding="utf-8"))
            if data["root"] != root:
                return None
            limit = data["written_ns"] - RACY_NS
            for path, (mtime, size) in data["watched"].items():
                st = os.stat(path)
                if st.st_mtime_ns != mtime or st.st_size != size or mtime >= limit:
                    return None
            return list(data["files"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put_tree(self, root: str, files: list[str], watched: list[str]) -> None:
        try:
            stats = {}
            for path in watched:
                st = os.stat(path)
                stats[path] = [st.st_mtime_ns, st.st_size]
            self._prepare()
            payload = {"root": root, "written_ns": time.time_ns(), "watched": stats, "files": files}
            _atomic_write(self.bucket / "tree.json", json.dumps(payload, separators=(",", ":")))
        except OSError:
            pass

    def get(self, digest: str, path: str) -> FileResult | None:
        """The cached result of a file. From the results table its project facts
        are left out (``facts_deferred``; see project_facts)."""
        if digest in self._load_empty():
            return FileResult(path, from_cache=True)
        row = self._row(digest)
        if row is not None:
            try:
                findings, suppressions = marshal.loads(row[0])
                result = FileResult(path, from_cache=True, facts_deferred=True, facts_digest=row[2])
                result.findings = [Finding.from_cache(f, path) for f in findings]
                result.facts = {"__suppressions__": suppressions}
                return result
            except (EOFError, ValueError, TypeError, KeyError):
                pass
        return self._read_entry(digest, path)

    def _read_entry(self, digest: str, path: str) -> FileResult | None:
        try:
            data = json.loads(self._entry(digest).read_text(encoding="utf-8"))
            result = FileResult(path, from_cache=True)
            result.findings = [Finding.from_cache(f, path) for f in data["findings"]]
            result.facts = data["facts"]
            result.facts_digest = facts_digest(result.facts)
            return result
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def get_project(self, key: str) -> tuple[set[str], list[Finding]] | None:
        """Project-phase findings cached under a digest of every file's facts:
        (the paths they were reported for, the findings)."""
        try:
            data = json.loads((self.bucket / "project" / f"{key}.json").read_text(encoding="utf-8"))
            return set(data["reported"]), [Finding.from_cache(item, item["path"]) for item in data["findings"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put_project(self, key: str, reported: set[str], findings: list[Finding]) -> None:
        try:
            self._prepare()
            folder = self.bucket / "project"
            folder.mkdir(exist_ok=True)
            payload = {"reported": sorted(reported), "findings": [f.to_cache() for f in findings]}
            _atomic_write(folder / f"{key}.json", json.dumps(payload))
            self._writes += 1
        except OSError:
            return

    def put(self, digest: str, result: FileResult) -> None:
        if result.error is not None or result.fixed_source is not None:
            return
        if not result.findings and not any(result.facts.values()):
            empty = self._load_empty()
            if digest not in empty:
                empty.add(digest)
                self._empty_dirty = True
            return
        self._note(digest, result)
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
        and all but the MAX_BUCKETS most recently used buckets (each config,
        rule selection and code version has its own). Entries are counted
        once every MAX_ENTRIES / 8 writes, not on every run (listing them costs
        a one-file run more than its check), so a bucket overshoots the bound
        by at most an eighth. Call before save_stats, which keeps the count."""
        if not self._writes or not self.bucket.exists():
            return
        self._load_stats()
        self._unscanned += self._writes
        self._stats_dirty = True
        self._writes = 0
        try:
            os.utime(self.bucket)
            buckets = sorted(
                (p for p in self.bucket.parent.iterdir() if p.is_dir() and p.name != "project"),
                key=lambda p: p.stat().st_mtime_ns,
                reverse=True,
            )
            for stale in buckets[MAX_BUCKETS:]:
                shutil.rmtree(stale, ignore_errors=True)
            manifests = sorted(self.bucket.parent.glob("rules-*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
            for stale in manifests[MAX_BUCKETS:]:
                stale.unlink(missing_ok=True)
        except OSError:
            pass
        if self._unscanned < MAX_ENTRIES // 8:
            return
        self._unscanned = 0
        try:
            entries = [p for p in self.bucket.glob("*/*.json")]  # files and project results
            if len(entries) > MAX_ENTRIES:
                entries.sort(key=lambda p: p.stat().st_mtime)
                for stale in entries[: len(entries) - MAX_ENTRIES]:
                    stale.unlink(missing_ok=True)
        except OSError:
            pass


def _atomic_write(path: Path, text: str) -> None:
    """Cache files: written whole or not at all."""
    write_atomic_bytes(path, text.encode("utf-8"))


def salt_for(config_fingerprint: str, codes: list[str], code_fingerprint: str = "") -> str:
    """What every cached result depends on besides the file: configuration,
    selected rules, and the code that produced it."""
    raw = json.dumps([config_fingerprint, codes, code_fingerprint])
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


