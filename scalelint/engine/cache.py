"""Per-file results cached on disk, keyed by content hash (and module name),
scalelint version and code, effective config, selected rules. Safe
under concurrent runs (atomic renames), bounded in size, ignored by git.

The cache lives in a directory scalelint created and marked as its own (a
``CACHEDIR.TAG``); everything below it is reached through directory
descriptors opened without following symlinks (see :class:`CacheRoot`), so
a checkout that commits ``.scalelint_cache/v0.1.0 -> ../..`` can never make
it list, write or remove anything outside. Where it lives is decided once,
by :func:`locate_cache`.

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

Any cache file that cannot be read or has the wrong shape is a miss: the
result is computed again and the file rewritten.
"""
from __future__ import annotations

import hashlib
import json
import marshal
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from scalelint import __version__
from scalelint.core.files import write_atomic_bytes
from scalelint.core.findings import FileResult, Finding, facts_digest, project_part
from scalelint.model.contexts import Region, regions_from_json

if TYPE_CHECKING:
    from scalelint.engine.config import Config

MAX_ENTRIES = 20000
MAX_BUCKETS = 8
#: a run adding fewer rows than this and than 1/64 of the table leaves the table as it is
TABLE_FOLD_MIN = 16
#: a file modified this close to the last index write is re-read (mtime granularity)
RACY_NS = 2_000_000_000


#: the name of the cache directory inside a project
DEFAULT_DIR = ".scalelint_cache"
#: an environment variable naming the cache directory (as --cache-dir does)
CACHE_DIR_ENV = "SCALELINT_CACHE_DIR"
#: the marker of a directory scalelint created (https://bford.info/cachedir/)
TAG_NAME = "CACHEDIR.TAG"
TAG_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"
TAG_TEXT = f"{TAG_SIGNATURE}\n# This file marks scalelint's cache; the directory can be deleted.\n"
IGNORE_TEXT = "# created by scalelint\n*\n"
#: any of these while decoding a cache file means its shape is wrong: a miss
MALFORMED = (ValueError, KeyError, TypeError, AttributeError, IndexError, EOFError)

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW
Parts = tuple[str, ...]


class CacheRefused(OSError):
    """The cache directory is not one scalelint may use (a symlink, or a
    directory it did not create)."""


class CacheRoot:
    """The cache's top directory, created by scalelint with a ``CACHEDIR.TAG``.

    Nothing below it is reached through a symlink: each directory is opened
    with ``O_NOFOLLOW`` relative to its parent's descriptor, files are read
    and created with ``O_NOFOLLOW``, listings skip symlinks, and removals
    happen relative to a descriptor. A root that is itself a symlink, or an
    existing directory without the marker, is refused (every operation
    raises :class:`CacheRefused`, an ``OSError``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._owned: bool | None = None  # None: not looked at yet
        self.refusal: str | None = None  # why the directory is not used

    # -- ownership -------------------------------------------------------------
    def _check(self, create: bool) -> None:
        if self._owned is None:
            self._owned = self._inspect()
        if not self._owned and self.refusal is None and create:
            self._create()
            self._owned = self._inspect()
        if self.refusal is not None:
            raise CacheRefused(self.refusal)
        if not self._owned:
            raise FileNotFoundError(str(self.path))

    def _inspect(self) -> bool:
        """Whether the root exists and is ours; sets ``refusal`` when it exists
        and is not."""
        try:
            fd = os.open(self.path, _DIR_FLAGS)
        except FileNotFoundError:
            return False
        except OSError:
            self.refusal = f"cache directory {self.path} is a symlink or not a directory; running without the cache"
            return False
        try:
            if _read_at(fd, TAG_NAME).startswith(TAG_SIGNATURE.encode()):
                return True
        except OSError:
            pass
        try:  # made by a scalelint from before the marker: adopt it
            if _read_at(fd, ".gitignore") == IGNORE_TEXT.encode():
                _write_at(fd, TAG_NAME, TAG_TEXT.encode())
                return True
        except OSError:
            pass
        finally:
            os.close(fd)
        self.refusal = (
            f"cache directory {self.path} was not created by scalelint (no {TAG_NAME}); running without the cache"
        )
        return False

    def _create(self) -> None:
        """Make the root whole (marker and .gitignore in place) or not at all,
        so a concurrent run never sees it unmarked."""
        import shutil  # shutil and tempfile only where a cache is created or pruned:
        import tempfile  # a warm run never imports them

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            staging = tempfile.mkdtemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        except OSError:
            return
        try:
            Path(staging, TAG_NAME).write_text(TAG_TEXT, encoding="utf-8")
            Path(staging, ".gitignore").write_text(IGNORE_TEXT, encoding="utf-8")
            os.rename(staging, self.path)  # fails when anything but an empty directory is there
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)

    # -- descriptors -------------------------------------------------------------
    @contextmanager
    def _dir(self, parts: Parts, create: bool = False) -> Iterator[int]:
        self._check(create)
        fd = os.open(self.path, _DIR_FLAGS)
        try:
            for part in parts:
                if create:
                    try:
                        os.mkdir(part, dir_fd=fd)
                    except FileExistsError:
                        pass
                inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = inner
            yield fd
        finally:
            os.close(fd)

    # -- operations ----------------------------------------------------------------
    def read(self, parts: Parts, name: str) -> bytes:
        with self._dir(parts) as fd:
            return _read_at(fd, name)

    def write(self, parts: Parts, name: str, data: bytes) -> None:
        """Write whole or not at all (a temporary file renamed into place)."""
        with self._dir(parts, create=True) as fd:
            _write_at(fd, name, data)

    def entries(self, parts: Parts, directories: bool) -> list[tuple[str, int]]:
        """(name, mtime_ns) of the real directories (or regular files) in
        ``parts``; symlinks are never listed."""
        with self._dir(parts) as fd:
            with os.scandir(fd) as found:
                return [
                    (entry.name, entry.stat(follow_symlinks=False).st_mtime_ns)
                    for entry in found
                    if (entry.is_dir(follow_symlinks=False) if directories else entry.is_file(follow_symlinks=False))
                ]

    def remove_tree(self, parts: Parts, name: str) -> None:
        import shutil

        with self._dir(parts) as fd:
            if sys.version_info >= (3, 11):
                shutil.rmtree(name, dir_fd=fd, ignore_errors=True)
            else:  # pragma: no cover - rmtree refuses a symlink and walks by descriptors below it
                shutil.rmtree(self.path.joinpath(*parts, name), ignore_errors=True)

    def unlink(self, parts: Parts, name: str) -> None:
        with self._dir(parts) as fd:
            try:
                os.unlink(name, dir_fd=fd)
            except FileNotFoundError:
                pass

    def touch(self, parts: Parts) -> None:
        """Mark a directory as used now (its mtime orders pruning)."""
        with self._dir(parts) as fd:
            os.utime(fd)


def _read_at(fd: int, name: str) -> bytes:
    handle = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=fd)
    with os.fdopen(handle, "rb") as stream:
        return stream.read()


def _write_at(fd: int, name: str, data: bytes) -> None:
    import secrets  # only when writing: a warm run that writes nothing never imports it

    temporary = f".{name}.{secrets.token_hex(6)}.tmp"
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666, dir_fd=fd)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=fd)
        except OSError:
            pass
        raise


@dataclass(frozen=True)
class CacheLocation:
    """Where the cache of a run lives, and a notice when the project's
    setting was not followed."""

    directory: Path
    notice: str | None = None


def user_cache_home(environ: Mapping[str, str] = os.environ) -> Path:
    """The per-user cache directory: $XDG_CACHE_HOME/scalelint or ~/.cache/scalelint."""
    base = environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "scalelint"


def locate_cache(config: "Config", override: str | None = None, environ: Mapping[str, str] = os.environ) -> CacheLocation:
    """The cache directory of a run. The user's choices are followed as given:
    ``override`` (``--cache-dir``), then $SCALELINT_CACHE_DIR, then
    ``cache-dir`` in the user's own config. A project's ``cache-dir`` is
    followed only inside the project root. Without a project root (a lone
    file, an editor buffer outside any project) the cache is per user,
    never next to the file."""
    from scalelint.engine.config import inside_root, load_user_config

    given = override or environ.get(CACHE_DIR_ENV)
    if given:  # relative to the working directory, as any path on the command line
        return CacheLocation(Path(given).expanduser())
    personal = load_user_config(environ).cache_dir
    if personal:  # relative to the project root
        return CacheLocation(config.root / Path(personal).expanduser())
    if not config.root_is_project:
        return CacheLocation(_per_user_dir(config.root, environ))
    default = config.root / DEFAULT_DIR
    wanted = config.root / config.cache_dir
    if config.cache_dir == DEFAULT_DIR or inside_root(wanted, config.root):
        return CacheLocation(wanted)
    notice = (
        f"{config.path or config.root}: cache-dir {config.cache_dir!r} is outside the project, using {default} "
        f"(choose a directory elsewhere with --cache-dir or ${CACHE_DIR_ENV})"
    )
    return CacheLocation(default, notice)


def _per_user_dir(root: Path, environ: Mapping[str, str]) -> Path:
    """A cache of its own for each directory run outside any project."""
    resolved = os.path.realpath(root)
    tag = hashlib.blake2b(resolved.encode(), digest_size=6).hexdigest()
    return user_cache_home(environ) / "unrooted" / f"{Path(resolved).name or 'root'}-{tag}"


def content_hash(data: bytes, context: str = "") -> str:
    """The cache key of a file: its bytes, and the module name it is checked as
    (facts name their module, so the same text in two packages differs)."""
    h = hashlib.blake2b(context.encode(), digest_size=16)
    h.update(b"\0")
    h.update(data)
    return h.hexdigest()


VERSION_DIR = f"v{__version__}"


def report_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """What a file tells the report rather than the project phase
    (``__context__``, ``__dropped__``): kept with its findings in the table."""
    return {k: v for k, v in facts.items() if k.startswith("__") and k != "__suppressions__"}


class Cache:
    def __init__(self, directory: Path, salt: str) -> None:
        self.directory = directory
        self.root = CacheRoot(directory)
        self.salt = salt  # config fingerprint + selected rules + code
        self.bucket = directory / VERSION_DIR / salt  # for reading only: never opened through this path
        self._bucket: Parts = (VERSION_DIR, salt)
        self._writes = 0
        self._stats: dict[str, list] | None = None
        self._stats_written = 0
        self._stats_dirty = False
        self._unscanned = 0  # entries written since the bucket was last scanned for pruning
        self._empty: set[str] | None = None
        self._empty_dirty = False
        self._results: dict[str, tuple[bytes, bytes, str]] | None = None
        self._added: dict[str, tuple[bytes, bytes, str]] = {}

    @property
    def refusal(self) -> str | None:
        """Why the cache directory was not used (a symlink, not scalelint's), if so."""
        return self.root.refusal

    def _read_json(self, parts: Parts, name: str) -> Any:
        return json.loads(self.root.read(parts, name).decode("utf-8"))

    def _write_json(self, parts: Parts, name: str, payload: Any) -> None:
        self.root.write(parts, name, json.dumps(payload, separators=(",", ":")).encode("utf-8"))

    # -- stat index: content digests of unchanged files without reading them ------
    def _load_stats(self) -> dict[str, list]:
        if self._stats is None:
            try:
                data = self._read_json((VERSION_DIR,), "stat-index.json")
                files, written = data["files"], int(data["written_ns"])
                if not isinstance(files, dict):
                    raise TypeError("files")
                self._stats, self._stats_written = files, written
                self._unscanned = int(data.get("unscanned", 0))
            except (OSError, *MALFORMED):
                self._stats, self._stats_written = {}, 0
        return self._stats

    def known_digest(self, path: Path | str, stat: os.stat_result, module: str) -> str | None:
        """The digest recorded for this file if its size and mtime are unchanged
        (and the mtime is not so recent that an edit could hide in it), and it
        is still checked as the same module."""
        entry = self._load_stats().get(str(path))
        if (
            type(entry) is list
            and len(entry) == 4
            and entry[0] == stat.st_mtime_ns
            and entry[1] == stat.st_size
            and stat.st_mtime_ns < self._stats_written - RACY_NS
            and entry[3] == module
            and type(entry[2]) is str
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
                if len(self._empty) > 4 * MAX_ENTRIES:
                    self._empty = set()
                self._write_json(self._bucket, "empty.json", sorted(self._empty))
            except OSError:
                pass
        if not self._stats_dirty or self._stats is None:
            return
        try:
            payload = {"written_ns": time.time_ns(), "unscanned": self._unscanned, "files": self._stats}
            self._write_json((VERSION_DIR,), "stat-index.json", payload)
        except OSError:
            pass

    def _entry(self, digest: str) -> tuple[Parts, str]:
        return (*self._bucket, digest[:2]), f"{digest}.json"

    # -- results with nothing in them (most files): one set, not one file each --
    def _load_empty(self) -> set[str]:
        if self._empty is None:
            try:
                digests = self._read_json(self._bucket, "empty.json")
                if not isinstance(digests, list) or not all(type(d) is str for d in digests):
                    raise TypeError("empty.json")
                self._empty = set(digests)
            except (OSError, *MALFORMED):
                self._empty = set()
                self._empty_dirty = True  # rewritten, whatever was there
        return self._empty

    # -- the results table: every checked file's findings, suppressions and
    #    project facts in one file, so a run reads one file instead of one per
    #    source file. Each part is marshalled on its own: loading the table is
    #    cheap, and the (large) project facts are decoded only when the project
    #    phase must run. Per-file entries stay the source of truth. ----------
    def _table(self) -> dict[str, tuple[bytes, bytes, str]]:
        """digest -> (marshalled [findings, suppressions], marshalled project
        facts, digest of those facts)."""
        if self._results is None:
            try:
                loaded = marshal.loads(self.root.read(self._bucket, "results.marshal"))
                valid = isinstance(loaded, dict) and all(
                    type(v) is tuple and len(v) == 3 and type(v[0]) is bytes and type(v[1]) is bytes and type(v[2]) is str
                    for v in loaded.values()
                )
                self._results = loaded if valid else {}
            except (OSError, *MALFORMED):
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
                facts = marshal.loads(row[1])
                if isinstance(facts, dict):
                    return facts
            except MALFORMED:
                pass
        cached = self._read_entry(digest, "")
        return None if cached is None else project_part(cached.facts)

    def _note(self, digest: str, result: FileResult) -> None:
        try:
            head = [[f.to_cache() for f in result.findings], result.facts.get("__suppressions__", []), report_facts(result.facts)]
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
        live = {entry[2] for entry in self._load_stats().values() if type(entry) is list and len(entry) == 4}
        kept = {k: v for k, v in table.items() if k in live} if live else table
        try:
            self.root.write(self._bucket, "results.marshal", marshal.dumps(kept))
        except (OSError, ValueError):
            pass

    # -- the project's file list, valid while no directory or ignore file of the
    #    walk that found it has changed ------------------------------------------
    def tree(self, root: str) -> list[str] | None:
        try:
            data = self._read_json(self._bucket, "tree.json")
            if data["root"] != root:
                return None
            limit = data["written_ns"] - RACY_NS
            for path, (mtime, size) in data["watched"].items():
                st = os.stat(path)
                if st.st_mtime_ns != mtime or st.st_size != size or mtime >= limit:
                    return None
            files = data["files"]
            return list(files) if all(type(f) is str for f in files) else None
        except (OSError, *MALFORMED):
            return None

    def put_tree(self, root: str, files: list[str], watched: list[str]) -> None:
        try:
            stats = {}
            for path in watched:
                st = os.stat(path)
                stats[path] = [st.st_mtime_ns, st.st_size]
            payload = {"root": root, "written_ns": time.time_ns(), "watched": stats, "files": files}
            self._write_json(self._bucket, "tree.json", payload)
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
                findings, suppressions, extra = marshal.loads(row[0])
                if not isinstance(extra, dict):
                    raise TypeError("report facts")
                result = FileResult(path, from_cache=True, facts_deferred=True, facts_digest=row[2])
                result.findings = [_finding(f, path) for f in findings]
                result.facts = {**extra, "__suppressions__": _suppressions(suppressions)}
                return result
            except MALFORMED:
                self._forget(digest)
        return self._read_entry(digest, path)

    def _forget(self, digest: str) -> None:
        """Drop a table row that does not decode: the file is checked again and
        the table rewritten with its new row."""
        self._added.pop(digest, None)
        if self._results is not None:
            self._results.pop(digest, None)

    def _read_entry(self, digest: str, path: str) -> FileResult | None:
        try:
            data = self._read_json(*self._entry(digest))
            facts = data["facts"]
            if not isinstance(facts, dict):
                raise TypeError("facts")
            _suppressions(facts.get("__suppressions__", []))
            result = FileResult(path, from_cache=True)
            result.findings = [_finding(f, path) for f in data["findings"]]
            result.facts = facts
            result.facts_digest = facts_digest(result.facts)
            return result
        except (OSError, *MALFORMED):
            return None

    def get_project(self, key: str) -> tuple[set[str], list[Finding], dict[str, list[Region]]] | None:
        """Project-phase results cached under a digest of every file's facts:
        (the paths they were reported for, the findings, the functions that
        take their callers' code context by path)."""
        try:
            data = self._read_json((*self._bucket, "project"), f"{key}.json")
            reported = data["reported"]
            if not isinstance(reported, list) or not all(type(p) is str for p in reported):
                raise TypeError("reported")
            inherited = {path: regions_from_json(found) for path, found in data.get("inherited", {}).items()}
            return set(reported), [_finding(item, item["path"]) for item in data["findings"]], inherited
        except (OSError, *MALFORMED):
            return None

    def put_project(self, key: str, reported: set[str], findings: list[Finding],
                    inherited: dict[str, list[Region]] | None = None) -> None:
        try:
            payload = {"reported": sorted(reported), "findings": [f.to_cache() for f in findings],
                       "inherited": {path: [r.to_json() for r in found] for path, found in (inherited or {}).items()}}
            self._write_json((*self._bucket, "project"), f"{key}.json", payload)
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
            payload = {"findings": [f.to_cache() for f in result.findings], "facts": result.facts}
            self._write_json(*self._entry(digest), payload)
            self._writes += 1
        except OSError:
            return  # a read-only or full disk must not fail the run

    def prune(self) -> None:
        """Keep the cache bounded: drop the oldest entries past MAX_ENTRIES,
        and all but the MAX_BUCKETS most recently used buckets (each config,
        rule selection and code version has its own). Entries are counted
        once every MAX_ENTRIES / 8 writes, not on every run (listing them costs
        a one-file run more than its check), so a bucket overshoots the bound
        by at most an eighth. Call before save_stats, which keeps the count.
        Only real directories and files inside the marked root are listed or
        removed (see CacheRoot)."""
        if not self._writes:
            return
        try:
            self.root.touch(self._bucket)
        except OSError:
            return
        self._load_stats()
        self._unscanned += self._writes
        self._stats_dirty = True
        self._writes = 0
        try:
            version = (VERSION_DIR,)
            buckets = [entry for entry in self.root.entries(version, directories=True) if entry[0] != "project"]
            for name in _oldest_first(buckets, keep=MAX_BUCKETS):
                self.root.remove_tree(version, name)
            manifests = [entry for entry in self.root.entries(version, directories=False) if entry[0].startswith("rules-")]
            for name in _oldest_first(manifests, keep=MAX_BUCKETS):
                self.root.unlink(version, name)
        except OSError:
            pass
        if self._unscanned < MAX_ENTRIES // 8:
            return
        self._unscanned = 0
        try:
            self._prune_entries()
        except OSError:
            pass

    def _prune_entries(self) -> None:
        """Remove the oldest per-file (and project) entries past MAX_ENTRIES."""
        entries: list[tuple[int, Parts, str]] = []
        for folder, _ in self.root.entries(self._bucket, directories=True):
            parts = (*self._bucket, folder)
            entries.extend((mtime, parts, name) for name, mtime in self.root.entries(parts, directories=False) if name.endswith(".json"))
        if len(entries) > MAX_ENTRIES:
            entries.sort()
            for _, parts, name in entries[: len(entries) - MAX_ENTRIES]:
                self.root.unlink(parts, name)


def _oldest_first(entries: list[tuple[str, int]], keep: int) -> list[str]:
    """The names of all but the ``keep`` most recently modified entries."""
    ordered = sorted(entries, key=lambda entry: entry[1], reverse=True)
    return [name for name, _ in ordered[keep:]]


_FINDING_FIELDS = {"code": str, "name": str, "message": str, "line": int, "column": int, "end_line": int, "end_column": int}
_SUPPRESSION_FIELDS = (int, int, int, int, list, str)


def _finding(data: Any, path: Any) -> Finding:
    """A cached finding, its fields checked (a wrong type raises TypeError)."""
    if type(path) is not str or any(type(data[key]) is not kind for key, kind in _FINDING_FIELDS.items()):
        raise TypeError("finding")
    finding = Finding.from_cache(data, path)
    fix = finding.fix
    if fix is not None and (
        type(fix.message) is not str
        or not all(type(e.start) is int and type(e.end) is int and type(e.text) is str for e in fix.edits)
    ):
        raise TypeError("fix")
    if not all(_related_ok(r) for r in data.get("related", ())):
        raise TypeError("related")
    return finding


def _related_ok(item: Any) -> bool:
    """A cached related place: ints where lines are, a message, a path or None (same file)."""
    return (
        isinstance(item, dict) and type(item["line"]) is int and type(item["column"]) is int
        and type(item["message"]) is str and (item.get("path") is None or type(item["path"]) is str)
    )


def _suppressions(value: Any) -> list:
    """Cached suppressions, checked for the shape Suppression.from_json reads."""
    if not isinstance(value, list):
        raise TypeError("suppressions")
    for item in value:
        if type(item) is not list or len(item) != len(_SUPPRESSION_FIELDS):
            raise TypeError("suppression")
        if any(type(part) is not kind for part, kind in zip(item, _SUPPRESSION_FIELDS)):
            raise TypeError("suppression")
        if not all(type(code) is str for code in item[4]):
            raise TypeError("suppression codes")
    return value


def salt_for(config_fingerprint: str, codes: list[str], code_fingerprint: str = "") -> str:
    """What every cached result depends on besides the file: configuration,
    selected rules, and the code that produced it."""
    raw = json.dumps([config_fingerprint, codes, code_fingerprint])
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()
