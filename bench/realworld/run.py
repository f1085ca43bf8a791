"""Measure scalelint on the judged real-code set (stdlib only, plus tomli before 3.11).

    python bench/realworld/run.py [--corpora DIR] [--app NAME ...] [--holdout] [--min-confidence low]
                                  [--write-unjudged FILE]

Runs ``python -m scalelint check --output-format json --no-cache`` on every
application of ``manifest.toml`` whose checkout exists under the corpora root
(``--corpora``, else ``$SCALELINT_CORPORA``, else ``/work/corpora``), matches
the findings against ``judgments/<app>.jsonl`` and prints, per rule, how many
judged-TRUE findings are still reported, how many judged FALSE and DEBATABLE
ones remain (of the findings a default run reports, or with ``--min-confidence
low`` also the low-confidence ones), how many findings nobody has judged yet, the judged precision
T/(T+F), and the recall over the judged true instances (TRUE findings plus the
``MISSED`` entries: true problems the linter did not report when judged).

A finding is keyed by (path, rule, stripped text of its line); the line number
is only a hint that pairs findings and judgments sharing a key, so judgments
survive edits that shift lines. A judgment's ``also`` texts are other lines of
the same file where a report of the same problem may sit (a rule that moves
its report from the check to the write keeps its verdict); a MISSED entry
counts as found when a finding of its rule is reported on a line whose text
is its snippet or one of its ``also`` texts. The script measures; it always exits 0 unless its own
input is unusable (exit 2 with a one-line error).

Apps marked ``holdout = true`` in the manifest are a set no tuning has seen:
they are measured only with ``--holdout`` (which adds them to the run, and
which naming one with ``--app`` also needs), once, at the end of a round.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
DEFAULT_CORPORA = Path("/work/corpora")
VERDICTS = ("TRUE", "FALSE", "DEBATABLE")
MISSED = "MISSED"


class BenchInputError(Exception):
    """The manifest or a judgments file cannot be used."""


@dataclass(frozen=True)
class App:
    """One application of the manifest."""

    name: str
    repo: str
    commit: str
    framework: str
    paths: tuple[str, ...]
    #: measured only when asked for (``--holdout``): code no tuning has seen
    holdout: bool = False


@dataclass(frozen=True)
class Finding:
    """One scalelint finding, with the text of its line for matching."""

    app: str
    path: str
    rule: str
    line: int
    snippet: str
    message: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.app, self.path, self.rule, self.snippet)


@dataclass(frozen=True)
class Judgment:
    """A verdict on one finding, or a true instance the linter missed."""

    app: str
    path: str
    rule: str
    line: int
    snippet: str
    verdict: str
    reason: str
    also: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.app, self.path, self.rule, self.snippet)

    @property
    def keys(self) -> tuple[tuple[str, str, str, str], ...]:
        """Its key and those of its `also` texts: where a report of this problem may sit."""
        return (self.key, *((self.app, self.path, self.rule, text) for text in self.also))


@dataclass
class RuleTally:
    """The counts printed for one rule."""

    true_total: int = 0
    true_kept: int = 0
    false_total: int = 0
    false_kept: int = 0
    debatable_total: int = 0
    debatable_kept: int = 0
    unjudged: int = 0
    missed_total: int = 0
    missed_found: int = 0

    @property
    def precision(self) -> float | None:
        decided = self.true_kept + self.false_kept
        return self.true_kept / decided if decided else None

    @property
    def recall(self) -> float | None:
        instances = self.true_total + self.missed_total
        return (self.true_kept + self.missed_found) / instances if instances else None

    def add(self, other: RuleTally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Comparison:
    """Findings matched against judgments: per-rule tallies and the unjudged findings."""

    tallies: dict[str, RuleTally] = field(default_factory=lambda: defaultdict(RuleTally))
    unjudged: list[Finding] = field(default_factory=list)
    #: (finding, judgment) for every judged finding still reported
    kept: list[tuple[Finding, Judgment]] = field(default_factory=list)


# -- input -------------------------------------------------------------------------


def load_manifest(path: Path) -> list[App]:
    """The applications of a manifest file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise BenchInputError(f"{path}: cannot read the manifest: {error}") from error
    apps = []
    for index, entry in enumerate(data.get("app", [])):
        try:
            apps.append(
                App(
                    name=entry["name"],
                    repo=entry["repo"],
                    commit=entry["commit"],
                    framework=entry["framework"],
                    paths=tuple(entry.get("paths", ["."])),
                    holdout=entry.get("holdout", False),
                )
            )
        except KeyError as error:
            raise BenchInputError(f"{path}: app #{index + 1} has no {error.args[0]!r}") from error
        if not isinstance(apps[-1].holdout, bool):
            raise BenchInputError(f"{path}: app {apps[-1].name!r}: holdout must be true or false")
    return apps


def select_apps(apps: list[App], names: list[str] | None, holdout: bool) -> list[App]:
    """The apps to measure: those named (all when none), holdout apps only when ``holdout``."""
    if names and not holdout:
        held = sorted(app.name for app in apps if app.holdout and app.name in names)
        if held:
            raise BenchInputError(f"{', '.join(held)}: holdout app(s), measured only with --holdout")
    return [app for app in apps if (not names or app.name in names) and (holdout or not app.holdout)]


def load_judgments(path: Path, app: str) -> list[Judgment]:
    """The judgments of one application (an absent file means none yet)."""
    if not path.exists():
        return []
    judgments = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
            judgment = Judgment(
                app=app,
                path=row["path"],
                rule=row["rule"],
                line=int(row["line"]),
                snippet=row["snippet"],
                verdict=row["verdict"],
                reason=row["reason"],
                also=tuple(row.get("also", ())),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise BenchInputError(f"{path}:{number}: not a judgment row: {error}") from error
        if judgment.verdict not in (*VERDICTS, MISSED):
            raise BenchInputError(f"{path}:{number}: unknown verdict {judgment.verdict!r}")
        judgments.append(judgment)
    return judgments


def line_text(source_lines: list[str], line: int) -> str:
    """The stripped text of a 1-based line ('' past the end)."""
    return source_lines[line - 1].strip() if 0 < line <= len(source_lines) else ""


def findings_from_json(app: str, root: Path, report: list[dict]) -> list[Finding]:
    """Findings of one scalelint JSON report, paths relative to the app's root."""
    sources: dict[str, list[str]] = {}
    findings = []
    for item in report:
        relative = Path(item["path"]).as_posix()
        if relative not in sources:
            try:
                sources[relative] = (root / relative).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                sources[relative] = []
        findings.append(
            Finding(
                app=app,
                path=relative,
                rule=item["code"],
                line=item["line"],
                snippet=line_text(sources[relative], item["line"]),
                message=item["message"],
            )
        )
    return findings


# -- running -----------------------------------------------------------------------


def run_scalelint(app: App, root: Path, min_confidence: str | None = None) -> list[Finding]:
    """scalelint's findings on one checked-out application (as the default run
    reports them, or at ``min_confidence``)."""
    command = [sys.executable, "-m", "scalelint", "check", "--output-format", "json", "--no-cache", "--exit-zero",
               *(["--min-confidence", min_confidence] if min_confidence else []), *app.paths]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if not result.stdout.strip() and result.returncode != 0:  # e.g. scalelint not installed here
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchInputError(f"{app.name}: scalelint failed with exit code {result.returncode} ({last_line})")
    if result.returncode not in (0, 1):  # a report, but some files were not checked: say so
        errors = [line for line in result.stderr.strip().splitlines() if line.strip()]
        print(f"warning: {app.name}: scalelint exited with code {result.returncode}; its report leaves out what "
              f"these errors name: " + "; ".join(errors[-3:] or ["no message"]), file=sys.stderr)
    try:
        report = json.loads(result.stdout or "[]")
    except json.JSONDecodeError as error:
        first_error_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchInputError(f"{app.name}: scalelint gave no JSON report ({first_error_line})") from error
    return findings_from_json(app.name, root, report)


# -- matching ----------------------------------------------------------------------


def pair_by_line(findings: list[Finding], judgments: list[Judgment]) -> tuple[list[tuple[Finding, Judgment]], list[Finding], list[Judgment]]:
    """Pair each finding with a judgment of one of its texts, nearest line hint first."""
    judgments_by_key = group(
        ((key, index) for index, judgment in enumerate(judgments) for key in judgment.keys),
        lambda item: item[0],
    )
    candidates = sorted(
        (abs(f.line - judgments[ji].line), fi, ji)
        for fi, f in enumerate(findings)
        for _, ji in judgments_by_key.get(f.key, [])
    )
    used_findings: set[int] = set()
    used_judgments: set[int] = set()
    pairs = []
    for _, fi, ji in candidates:
        if fi in used_findings or ji in used_judgments:
            continue
        used_findings.add(fi)
        used_judgments.add(ji)
        pairs.append((findings[fi], judgments[ji]))
    lone_findings = [f for i, f in enumerate(findings) if i not in used_findings]
    lone_judgments = [j for i, j in enumerate(judgments) if i not in used_judgments]
    return pairs, lone_findings, lone_judgments


def group(items: Iterable, key) -> dict:
    grouped: dict = defaultdict(list)
    for item in items:
        grouped[key(item)].append(item)
    return grouped


def compare(findings: list[Finding], judgments: list[Judgment]) -> Comparison:
    """Tally findings against verdicts and MISSED entries, per rule."""
    comparison = Comparison()
    verdicts = [j for j in judgments if j.verdict != MISSED]
    for judgment in verdicts:
        tally = comparison.tallies[judgment.rule]
        attribute = {"TRUE": "true_total", "FALSE": "false_total", "DEBATABLE": "debatable_total"}[judgment.verdict]
        setattr(tally, attribute, getattr(tally, attribute) + 1)
    pairs, lone_findings, _ = pair_by_line(findings, verdicts)
    comparison.kept = sorted(pairs, key=lambda pair: (pair[0].app, pair[0].path, pair[0].line, pair[0].rule))
    for _, judgment in pairs:
        tally = comparison.tallies[judgment.rule]
        attribute = {"TRUE": "true_kept", "FALSE": "false_kept", "DEBATABLE": "debatable_kept"}[judgment.verdict]
        setattr(tally, attribute, getattr(tally, attribute) + 1)
    for finding in lone_findings:
        comparison.tallies[finding.rule].unjudged += 1
        comparison.unjudged.append(finding)
    reported = {f.key for f in findings}
    for missed in (j for j in judgments if j.verdict == MISSED):
        tally = comparison.tallies[missed.rule]
        tally.missed_total += 1
        if any(key in reported for key in missed.keys):
            tally.missed_found += 1
    comparison.unjudged.sort(key=lambda f: (f.app, f.path, f.line, f.rule))
    return comparison


# -- output ------------------------------------------------------------------------


def ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def format_table(tallies: dict[str, RuleTally]) -> str:
    """The per-rule table, with a total row."""
    header = "| rule | TRUE kept/total | FALSE kept/total | DEBATABLE kept/total | unjudged | precision T/(T+F) | missed found/total | recall |"
    lines = [header, "|---" * (header.count("|") - 1) + "|"]
    total = RuleTally()
    for rule in sorted(tallies):
        tally = tallies[rule]
        total.add(tally)
        lines.append(table_row(rule, tally))
    lines.append(table_row("all", total))
    return "\n".join(lines)


def table_row(label: str, tally: RuleTally) -> str:
    return (
        f"| {label} | {tally.true_kept}/{tally.true_total} | {tally.false_kept}/{tally.false_total} | "
        f"{tally.debatable_kept}/{tally.debatable_total} | {tally.unjudged} | {ratio(tally.precision)} | "
        f"{tally.missed_found}/{tally.missed_total} | {ratio(tally.recall)} |"
    )


def kept_rows(kept: list[tuple[Finding, Judgment]], verdict: str) -> list[str]:
    """One line per reported finding judged ``verdict``: where, which rule, and why."""
    return [
        f"{f.app}/{f.path}:{f.line} {f.rule} [{j.verdict}] {j.reason}"
        for f, j in kept if verdict in ("ALL", j.verdict)
    ]


def unjudged_rows(findings: list[Finding]) -> list[str]:
    """JSON lines in the judgments format, verdict and reason left empty."""
    return [
        json.dumps({"app": f.app, "path": f.path, "rule": f.rule, "line": f.line, "snippet": f.snippet,
                    "verdict": "", "reason": "", "message": f.message}, ensure_ascii=False)
        for f in findings
    ]


# -- command line ------------------------------------------------------------------


def corpora_root(option: str | None) -> Path:
    return Path(option or os.environ.get("SCALELINT_CORPORA") or DEFAULT_CORPORA)


def measure(apps: list[App], corpora: Path, judgments_dir: Path,
            min_confidence: str | None = None) -> tuple[Comparison, list[str]]:
    """Run and compare every app with a checkout; the names of those skipped."""
    findings: list[Finding] = []
    judgments: list[Judgment] = []
    skipped = []
    for app in apps:
        root = corpora / app.name
        if not root.is_dir():
            skipped.append(app.name)
            continue
        findings.extend(run_scalelint(app, root, min_confidence))
        judgments.extend(load_judgments(judgments_dir / f"{app.name}.jsonl", app.name))
    return compare(findings, judgments), skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", help="directory holding one checkout per app (default $SCALELINT_CORPORA or /work/corpora)")
    parser.add_argument("--manifest", type=Path, default=HERE / "manifest.toml")
    parser.add_argument("--judgments", type=Path, default=HERE / "judgments", help="directory of <app>.jsonl files")
    parser.add_argument("--app", action="append", help="only this app (repeatable)")
    parser.add_argument("--holdout", action="store_true",
                        help="also measure the holdout apps (manifest: holdout = true); naming one with --app needs it too")
    parser.add_argument("--write-unjudged", type=Path, metavar="FILE", help="write the unjudged findings as JSON lines")
    parser.add_argument("--show", choices=("TRUE", "FALSE", "DEBATABLE", "ALL"),
                        help="also list the reported findings with this verdict and its reason")
    parser.add_argument("--min-confidence", choices=("high", "low"),
                        help="measure the findings of this confidence and above (default: what a default run reports)")
    args = parser.parse_args(argv)
    try:
        apps = select_apps(load_manifest(args.manifest), args.app, args.holdout)
        comparison, skipped = measure(apps, corpora_root(args.corpora), args.judgments, args.min_confidence)
    except BenchInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if skipped:
        print(f"no checkout, skipped: {', '.join(skipped)}")
    print(format_table(comparison.tallies))
    if args.show:
        print("\n".join(kept_rows(comparison.kept, args.show)))
    if args.write_unjudged:
        rows = unjudged_rows(comparison.unjudged)
        args.write_unjudged.write_text("".join(row + "\n" for row in rows), encoding="utf-8")
        print(f"{len(rows)} unjudged findings written to {args.write_unjudged}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
