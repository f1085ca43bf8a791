"""What a project rule sees: every file's facts merged into one index, and
where its findings go. No file is re-parsed in the project phase."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence, TypeVar

from scalelint.core.findings import Finding, Fix, Related, RuleIdentity

T = TypeVar("T")


@dataclass
class ProjectIndex:
    #: display path -> {rule code or fact family: facts}
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: what project rules build from the facts and share (a call graph), by name
    _derived: dict[str, Any] = field(default_factory=dict)

    def derived(self, name: str, build: Callable[[], T]) -> T:
        """A structure several rules read, built once per project phase."""
        if name not in self._derived:
            self._derived[name] = build()
        return self._derived[name]

    def add(self, path: str, facts: dict[str, Any]) -> None:
        self.files[path] = facts

    def facts(self, key: str) -> Iterator[tuple[str, Any]]:
        """(path, facts) for every file that published facts under ``key``."""
        for path in sorted(self.files):
            value = self.files[path].get(key)
            if value is not None:
                yield path, value


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
    ) -> None:
        """``related`` places may lie in any file of the project, reported or not."""
        if path not in self.reported_paths:
            return
        self.findings.append(
            Finding(rule.code, rule.name, message, path, line, column, end_line, end_column, fix, tuple(related))
        )
