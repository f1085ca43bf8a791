"""What a run produces: findings, their fixes as text edits, and per-file errors.

Everything here is small, immutable and picklable so workers can hand results
back cheaply and the cache can store them as JSON.
"""
from __future__ import annotations

import enum
import hashlib
import json
import marshal
from dataclasses import dataclass, field
from typing import Any, Protocol


class RuleIdentity(Protocol):
    """What a finding needs of the rule making it (a rule class or instance)."""

    code: str
    name: str


class FixSafety(str, enum.Enum):
    """Whether a fix keeps behaviour (`safe`) or may change it (`unsafe`)."""

    SAFE = "safe"
    UNSAFE = "unsafe"


class Confidence(str, enum.Enum):
    """How strong a finding's evidence is. ``high``: the code shows the harm
    (a loop over a table's rows, a stock check before its decrement). ``low``:
    the shape is there but the code cannot show it matters (a loop over one
    object's children, a duplicate-insert race). A run reports findings at or
    above ``min-confidence`` (``high`` unless configured)."""

    HIGH = "high"
    LOW = "low"

    def shown_at(self, minimum: "Confidence") -> bool:
        """Whether a finding of this confidence is reported at ``minimum``."""
        return self is Confidence.HIGH or minimum is Confidence.LOW


@dataclass(frozen=True)
class Edit:
    """Replace ``source[start:end]`` (character offsets) with ``text``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Fix:
    message: str
    safety: FixSafety
    edits: tuple[Edit, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "applicability": self.safety.value,
            "edits": [[e.start, e.end, e.text] for e in self.edits],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Fix":
        return cls(
            data["message"],
            FixSafety(data["applicability"]),
            tuple(Edit(*e) for e in data["edits"]),
        )


@dataclass(frozen=True)
class Related:
    """Another place that is part of a finding's story (the check before a
    write, the read it depends on, where a stale key is set). 1-based."""

    path: str
    line: int
    column: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "column": self.column, "message": self.message}

    @classmethod
    def from_json(cls, data: dict[str, Any], path: str) -> "Related":
        """``path`` stands in for a missing one (the cache stores same-file places without it)."""
        return cls(data.get("path") or path, data["line"], data["column"], data["message"])


@dataclass(frozen=True)
class Finding:
    """One problem at one place. Lines and columns are 1-based."""

    code: str
    name: str
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    fix: Fix | None = None
    #: other places of the same problem, in the order a reader should visit them
    related: tuple[Related, ...] = ()
    confidence: Confidence = Confidence.HIGH

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.column, self.code, self.message)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "fix": None
            if self.fix is None
            else {"applicability": self.fix.safety.value, "message": self.fix.message},
            "related": [r.to_json() for r in self.related],
            "confidence": self.confidence.value,
        }

    def to_cache(self) -> dict[str, Any]:
        """Like JSON, with the fix's edits, and same-file related places without
        their path (a cached finding is read back under the path of this run)."""
        data = self.to_json()
        data["fix"] = None if self.fix is None else self.fix.to_json()
        data["related"] = [
            {**r.to_json(), "path": None} if r.path == self.path else r.to_json() for r in self.related
        ]
        return data

    @classmethod
    def from_cache(cls, data: dict[str, Any], path: str) -> "Finding":
        fix = data.get("fix")
        return cls(
            data["code"], data["name"], data["message"], path,
            data["line"], data["column"], data["end_line"], data["end_column"],
            None if fix is None else Fix.from_json(fix),
            tuple(Related.from_json(r, path) for r in data.get("related", ())),
            Confidence(data.get("confidence", "high")),
        )


@dataclass(frozen=True)
class FileError:
    """A file that could not be checked, with a one-line reason."""

    path: str
    message: str
    internal: bool = False  # a bug in scalelint or a rule pack, not in the file

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class FileResult:
    """Everything one file contributed to a run."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    error: FileError | None = None
    fixed_source: str | None = None  # set when --fix/--diff changed the file
    original_source: str | None = None
    fixed: int = 0  # how many fixes were applied
    fixed_codes: list[str] = field(default_factory=list)  # the code of each finding fixed (--show-fixes)
    from_cache: bool = False
    #: from the cache without its project facts (only ``__suppressions__``):
    #: the project phase asks the cache for them when it must run
    facts_deferred: bool = False
    #: a digest of project_facts() ("" for none): the project phase's result
    #: depends on the files' facts, not on their text (an edit that moves no
    #: fact, such as a new comment at the end, leaves it valid)
    facts_digest: str = ""
    #: the fact families moved out of ``facts`` by ``pack``, each marshalled
    packed: dict[str, bytes] | None = None

    def project_facts(self) -> dict[str, Any]:
        """What the project phase reads of this file (its suppressions aside)."""
        return project_part({**self.facts, **{k: marshal.loads(v) for k, v in (self.packed or {}).items()}})

    def pack(self) -> None:
        """Hold the fact families (every key not starting with ``__``) as
        marshalled bytes until the project phase decodes the one a rule reads:
        a run keeps every file's facts, and as objects they take several times
        the memory. ``facts`` keeps the run's bookkeeping (``__…``) keys."""
        if self.packed is not None:
            return
        families = [k for k in self.facts if not k.startswith("__")]
        if families:
            self.packed = {k: marshal.dumps(self.facts[k]) for k in families}
            self.facts = {k: v for k, v in self.facts.items() if k.startswith("__")}


def project_part(facts: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in facts.items() if v and not k.startswith("__")}


def facts_digest(facts: dict[str, Any]) -> str:
    part = project_part(facts)
    if not part:
        return ""
    raw = json.dumps(part, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()
