"""What a project rule sees: every file's facts merged into one index, and
where its findings go. No file is re-parsed in the project phase."""
from __future__ import annotations

import marshal
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence, TypeVar

from scalelint.core.findings import Confidence, Finding, Fix, Related, RuleIdentity

T = TypeVar("T")

_MISSING = object()


class FileFacts:
    """One file's facts as the project index holds them: values, and fact
    families still marshalled (scalelint.core.findings.FileResult.pack),
    decoded when first read and kept until the index ``release``s them."""

    __slots__ = ("values", "packed", "decoded")

    def __init__(self, values: dict[str, Any], packed: dict[str, bytes] | None = None) -> None:
        self.values = values
        self.packed = packed or {}
        self.decoded: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        """The family's value, decoded once until ``release``."""
        value = self.peek(key, _MISSING)
        if value is _MISSING:
            return default
        if key in self.packed and key not in self.decoded:
            self.decoded[key] = value
        return value

    def peek(self, key: str, default: Any = None) -> Any:
        """The family's value without keeping it decoded: what a reader that
        walks every file once (``ProjectIndex.facts``) gets, so that what it
        does not keep is freed as it goes."""
        value = self.values.get(key, _MISSING)
        if value is _MISSING:
            value = self.decoded.get(key, _MISSING)
        if value is not _MISSING:
            return value
        raw = self.packed.get(key)
        return default if raw is None else marshal.loads(raw)

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self.values or key in self.packed

    def release(self) -> None:
        """Forget the decoded families (they are decoded again when read)."""
        self.decoded = {}


@dataclass
class ProjectIndex:
    #: display path -> {rule code or fact family: facts}
    files: dict[str, FileFacts] = field(default_factory=dict)
    #: display path -> the digest of its facts, when the runner knows it
    identities: dict[str, str] = field(default_factory=dict)
    #: what a long-lived caller keeps between runs: (build name, path) -> (identity, value)
    kept: dict[tuple[str, str], tuple[str, Any]] | None = None
    #: fact family -> a digest of every file's value (scalelint.engine.memory), once per run
    family_digests: dict[str, str] = field(default_factory=dict)
    #: what project rules build from the facts and share (a call graph), by name
    _derived: dict[str, Any] = field(default_factory=dict)
    #: the fact families each derived structure read while it was built
    _derived_reads: dict[str, frozenset[str]] = field(default_factory=dict)
    #: the fact families read since ``tracking`` began (what a result depends on)
    _reads: set[str] = field(default_factory=set)

    def derived(self, name: str, build: Callable[[], T]) -> T:
        """A structure several rules read, built once per project phase."""
        if name not in self._derived:
            with self.tracking() as reads:
                self._derived[name] = build()
            self._derived_reads[name] = frozenset(reads)
        self._reads |= self._derived_reads.get(name, frozenset())
        return self._derived[name]

    def per_file(self, name: str, path: str, build: Callable[[], T]) -> T:
        """What ``build`` makes of one file's facts; kept between runs (by the
        file's facts digest) when the caller keeps them (the language server)."""
        identity = self.identities.get(path)
        if self.kept is None or not identity:
            return build()
        known = self.kept.get((name, path))
        if known is not None and known[0] == identity:
            return known[1]
        value = build()
        self.kept[(name, path)] = (identity, value)
        return value

    def add(self, path: str, facts: dict[str, Any], identity: str = "", packed: dict[str, bytes] | None = None) -> None:
        """A file's facts: ``facts`` as values, ``packed`` families marshalled."""
        self.files[path] = FileFacts(facts, packed)
        if identity:
            self.identities[path] = identity

    def release(self, keep: set[str] | frozenset[str] = frozenset()) -> None:
        """Drop every fact family decoded so far, and the derived structures
        not named in ``keep`` (after a project rule: what a later rule reads
        is decoded or built again, to the same value)."""
        for facts in self.files.values():
            facts.release()
        for name in [n for n in self._derived if n not in keep]:
            del self._derived[name]

    def facts(self, key: str) -> Iterator[tuple[str, Any]]:
        """(path, facts) for every file that published facts under ``key``."""
        self._reads.add(key)
        return self._facts(key, sorted(self.files))

    def published(self, key: str) -> Iterator[tuple[str, Any]]:
        """``facts``, in the order the files were added."""
        self._reads.add(key)
        return self._facts(key, list(self.files))

    def reading(self, *keys: str) -> dict[str, FileFacts]:
        """Every file's facts, for a reader that looks up these families itself."""
        self._reads.update(keys)
        return self.files

    def _facts(self, key: str, paths: list[str]) -> Iterator[tuple[str, Any]]:
        for path in paths:
            value = self.files[path].peek(key)
            if value is not None:
                yield path, value

    @contextmanager
    def tracking(self) -> Iterator[set[str]]:
        """The fact families read within the block (by ``facts``, ``published``
        and the derived structures used), gathered in the set it yields."""
        outer, reads = self._reads, set()
        self._reads = reads
        try:
            yield reads
        finally:
            self._reads = outer
            outer |= reads  # an enclosing block read them too


@dataclass
class ProjectReporter:
    """Collects project findings, only for the files this run reports on."""

    reported_paths: set[str]
    findings: list[Finding] = field(default_factory=list)
    #: ``[tool.scalelint.rules]``: rule code -> option -> value, as configured
    options: dict[str, dict[str, float]] = field(default_factory=dict)

    def option(self, rule: Any, name: str) -> float:
        """A rule's option: the configured value, else the default the rule declares."""
        return self.options.get(rule.code, {}).get(name, rule.options[name])

    def report(
        self,
        rule: RuleIdentity,
        path: str,
        line: int,
        column: int,
        end_line: int,
        end_column: int,
        message: str,
        fix: Fix | None = None,
        related: Sequence[Related] = (),
        confidence: Confidence = Confidence.HIGH,
    ) -> None:
        """``related`` places may lie in any file of the project, reported or not;
        ``confidence`` LOW when the code shows the shape but not that it matters."""
        if path not in self.reported_paths:
            return
        self.findings.append(
            Finding(rule.code, rule.name, message, path, line, column, end_line, end_column, fix, tuple(related),
                    confidence)
        )
