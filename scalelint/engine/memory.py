"""What a long-lived caller (the language server) keeps of one project
between runs, so that a run after an edit redoes only what the edit can
change: where each project file is placed, the facts of unchanged files, what
was built from one file's facts, and each project rule's last result with the
fact families it read.

A project rule's result is reused when every fact family it read is the same
as when it ran: the same files publish it, with the same values (an unchanged
file by its facts digest, a file of the run by the digest of that family's
value), and the run reports on the same files with the same rule options. A
rule reads facts only through the project index, which records each family
read (scalelint.project.ProjectIndex.tracking), so its result depends on
nothing else: the result is the same as running it again."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from scalelint.project import ProjectIndex

#: the memory a run keeps of a file outside it, by path: (module, context, pinned)
Place = tuple[str, str, bool]


@dataclass
class Remembered:
    """One project-phase computation's last result, and what it depended on."""

    key: str
    families: frozenset[str]
    value: Any


@dataclass
class ProjectMemory:
    """One project's state kept between the runs of a long-lived caller. Not
    shared between configurations (a new configuration starts a new memory)."""

    #: real path -> (module, context, pinned), valid for the file list they were placed in
    places: dict[str, Place] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    #: content digest -> the file's project facts
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: (build name, path) -> (facts digest, value): scalelint.project.ProjectIndex.per_file
    kept: dict[tuple[str, str], tuple[str, Any]] = field(default_factory=dict)
    #: rule code (or another computation's name) -> its last result
    results: dict[str, Remembered] = field(default_factory=dict)
    #: project-phase computations reused / run, for tests and the bench
    reused: int = 0
    ran: int = 0

    def project_files(self, files: list[str]) -> None:
        """The project's files in this run: the places are forgotten when they
        changed (a package's ``__init__.py`` added or removed renames modules)."""
        if files != self.files:
            self.files, self.places = list(files), {}

    def place(self, path: str, compute: Callable[[], Place]) -> Place:
        """Where a project file is placed (``compute``d once per file list)."""
        known = self.places.get(path)
        if known is None:
            known = self.places[path] = compute()
        return known

    def keep_facts(self, digests: set[str]) -> None:
        """Forget the facts of content digests no longer in the project."""
        for digest in [d for d in self.facts if d not in digests]:
            del self.facts[digest]

    def recall(self, name: str, index: ProjectIndex, context: Any, run: Callable[[], Any]) -> Any:
        """``run()``'s value, reused when the fact families it read last time are
        unchanged and ``context`` (what else it reads: the files reported on,
        options) is the same; else run with its reads tracked."""
        known = self.results.get(name)
        if known is not None and known.key == _key(index, known.families, context):
            self.reused += 1
            return known.value
        with index.tracking() as reads:
            value = run()
        self.ran += 1
        families = frozenset(reads)
        self.results[name] = Remembered(_key(index, families, context), families, value)
        return value


def _key(index: ProjectIndex, families: frozenset[str], context: Any) -> str:
    """A digest of ``context`` and of every file's value for each family."""
    digest = hashlib.blake2b(json.dumps(context, sort_keys=True, default=str).encode(), digest_size=16)
    known = index.family_digests
    for family in sorted(families):
        if family not in known:
            known[family] = _family_digest(index, family)
        digest.update(f"\0{family}\0{known[family]}".encode())
    return digest.hexdigest()


def _family_digest(index: ProjectIndex, family: str) -> str:
    """Every file's value for ``family``: an unchanged file by its facts
    digest, a file without one (a file of the run) by the value's JSON."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(index.files):
        value = index.files[path].get(family)
        if value is None:
            continue
        identity = index.identities.get(path)
        part = f"={identity}" if identity else ":" + json.dumps(value, sort_keys=True, default=str)
        digest.update(f"\0{path}{part}".encode())
    return digest.hexdigest()
