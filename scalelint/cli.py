"""The command line: ``scalelint check`` (the default), ``rules``, ``explain``.

Exit codes: 0 nothing left to report, 1 findings remain (or files could not
be checked), 2 usage, configuration or internal error.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from scalelint import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
TRUST_HELP = "Import the project's local-rules (its own code; also $SCALELINT_TRUST_LOCAL_RULES=1)."


class _DefaultGroup(click.Group):
    """``scalelint PATHS`` means ``scalelint check PATHS``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = ["check", *args]
        return super().parse_args(ctx, args)


def _split(values: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def _fail(message: str) -> "click.exceptions.Exit":
    click.echo(f"scalelint: error: {message}", err=True)
    return click.exceptions.Exit(EXIT_ERROR)


def entry() -> None:
    """The ``scalelint`` command. Exits without tearing the interpreter down:
    freeing every module and object at exit costs a one-file run (pre-commit,
    editor on save) about 20 ms and serves nothing once the output is flushed
    and every file is written (writes are atomic and complete before this).
    The cyclic collector runs rarely from the start: importing LibCST and the
    rules allocates much and frees little (see scalelint.engine.dispatch.tune_gc)."""
    import gc

    gc.set_threshold(50_000, 20, 100)
    try:
        main()
        code: object = EXIT_CLEAN
    except SystemExit as exc:
        code = exc.code
    if isinstance(code, str):
        sys.stderr.write(code + "\n")
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: the reader is gone
        code = code or EXIT_ERROR
    os._exit(code if isinstance(code, int) else EXIT_CLEAN)


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="scalelint", message="%(prog)s %(version)s")
def main() -> None:
    """Find database and cache code that breaks first under load, and fix what can be fixed."""


@main.command()
@click.argument("paths", nargs=-1, type=str)
@click.option("--select", multiple=True, metavar="CODES", help="Rules to enable: codes, prefixes (SL1) or names; replaces the configured selection.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Rules to disable.")
@click.option("--extend-select", multiple=True, metavar="CODES", help="Rules to enable on top of the selection.")
@click.option("--fix", is_flag=True, help="Apply safe fixes in place.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes that may change behaviour.")
@click.option("--diff", is_flag=True, help="Print the fixes as a diff instead of writing them.")
@click.option("--show-fixes", is_flag=True, help="With --fix, list the findings fixed, per file and rule.")
@click.option("--output-format", type=click.Choice(["text", "concise", "json", "sarif", "github", "junit"]), default=None, help="Report format (default: text; concise: one line per finding).")
@click.option("--output-file", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to this file instead of stdout.")
@click.option("--stdin-filename", metavar="PATH", help="The path of the buffer read from stdin (with '-').")
@click.option("--diff-base", "--changed-since", "diff_base", metavar="REF", help="Check only Python files changed since the git REF (and untracked ones), reporting findings on changed lines.")
@click.option("--changed-files-only", is_flag=True, help="With --diff-base, report every finding of the changed files, not only those on changed lines.")
@click.option("--force-exclude", is_flag=True, help="Apply excludes and .gitignore to files named explicitly and to --stdin-filename too.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help="Read configuration from this file.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the cache.")
@click.option("--cache-dir", metavar="DIR", help="Keep the cache in DIR (default: .scalelint_cache in the project; $SCALELINT_CACHE_DIR).")
@click.option("--trust-local-rules", is_flag=True, help=TRUST_HELP)
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=None, help="Worker processes (0: one per core).")
@click.option("--statistics", is_flag=True, help="Show counts per rule.")
@click.option("--min-confidence", type=click.Choice(["high", "low"]), default=None, help="Report findings of at least this confidence (default: high, or `min-confidence` in the config; low: also those whose harm the code cannot show).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), help="Ignore findings recorded in this baseline file.")
@click.option("--write-baseline", is_flag=True, help="Record the current findings in the baseline file (--baseline, or `baseline` in the config).")
@click.option("--add-noqa", is_flag=True, help="Add '# noqa: CODE' comments to every current finding.")
@click.option("--include-generated", is_flag=True, help="Also check files marked as generated.")
@click.option("--quiet", "-q", is_flag=True, help="Print only findings (no summary); with --fix on stdin, only the code.")
@click.option("--color/--no-color", default=None, help="Colour the text output (default: on a terminal; $NO_COLOR, $FORCE_COLOR).")
@click.option("--progress", is_flag=True, help="Show progress on stderr even when it is not a terminal.")
@click.option("--verbose", "-v", is_flag=True, help="Print the run's timings by phase and the cache hit rate (stderr).")
@click.option("--watch", is_flag=True, help="Check again whenever a file under PATHS changes (polling; Ctrl-C stops).")
def check(paths: tuple[str, ...], **opts) -> None:
    """Check PATHS (files or directories; '-' reads stdin)."""
    if not opts["watch"]:
        sys.exit(_guarded(list(paths), opts))
    from scalelint.terminal import snapshot, watch

    if "-" in paths:
        raise _fail("--watch cannot read stdin")
    watched = list(paths) or ["."]

    def check_once() -> None:
        click.echo(f"scalelint: checking {' '.join(watched)} (watching for changes; Ctrl-C stops)", err=True)
        _guarded(list(paths), opts)

    watch(check_once, lambda: snapshot(watched))
    sys.exit(EXIT_CLEAN)


def _guarded(paths: list[str], opts: dict) -> int:
    """One check; its exit code. A user mistake is a one-line error (exit 2),
    never a traceback."""
    try:
        return _check(paths, opts)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except Exception as exc:
        from scalelint.core.errors import UsageError

        if isinstance(exc, UsageError):
            return _fail(str(exc)).exit_code
        if os.environ.get("SCALELINT_DEBUG"):
            raise
        return _fail(
            f"internal error: {type(exc).__name__}: {exc} (set SCALELINT_DEBUG=1 for a traceback, and please report it)"
        ).exit_code


def _check(paths: list[str], opts: dict) -> int:
    from scalelint.engine.cache import locate_cache
    from scalelint.engine.config import load_config
    from scalelint.core.errors import UsageError
    from scalelint.engine.registry import load_registry_cached
    from scalelint.engine.runner import Runner, RunSettings

    stdin_data = None
    if paths == ["-"]:
        stdin_data = sys.stdin.buffer.read()  # bytes: decoded as Python would (BOM, coding cookie)
    elif "-" in paths:
        raise UsageError("'-' (stdin) cannot be mixed with other paths")
    if not paths:
        paths = ["."]
    given, changes = paths, None
    if opts["diff_base"]:
        paths, changes = _changed_paths(opts, paths, stdin_data is not None)
    elif opts["changed_files_only"]:
        raise UsageError("--changed-files-only needs --diff-base REF")
    if opts["stdin_filename"] and stdin_data is None:
        raise UsageError("--stdin-filename needs '-' as the path")
    if opts["write_baseline"] and stdin_data is not None:
        raise UsageError("--write-baseline records a whole project's findings; it cannot read stdin")

    anchor = Path(opts["stdin_filename"]).parent if stdin_data is not None and opts["stdin_filename"] else Path(given[0] if stdin_data is None else ".")
    if not anchor.exists():
        anchor = Path(".")
    config = load_config(opts["config_path"], anchor)
    if opts["min_confidence"]:
        config.min_confidence = opts["min_confidence"]
    local = _local_rules(config, opts["trust_local_rules"])
    cache_dir = None
    if not opts["no_cache"]:
        location = locate_cache(config, opts["cache_dir"])
        _notice(location.notice)
        cache_dir = location.directory
    if opts["write_baseline"] and not (opts["baseline"] or config.baseline):
        raise UsageError("--write-baseline needs --baseline FILE or `baseline` in the config")
    registry = load_registry_cached(local.paths, cache_dir)
    from scalelint.api import Selection, select_rules

    selection = Selection(_split(opts["select"]) or None, _split(opts["ignore"]), _split(opts["extend_select"]))
    rules = select_rules(registry, config, selection, skip_unknown=local.notice is not None)

    settings = RunSettings(
        paths=paths,
        stdin_data=stdin_data,
        stdin_filename=opts["stdin_filename"],
        fix=opts["fix"],
        unsafe_fixes=opts["unsafe_fixes"],
        diff=opts["diff"],
        use_cache=cache_dir is not None,
        cache_dir=cache_dir,
        # the registry's fingerprint covers the configured local rules unless they were not trusted
        code_fingerprint=registry.fingerprint if local.notice is None else None,
        jobs=opts["jobs"],
        include_generated=opts["include_generated"] or config.include_generated,
        force_exclude=opts["force_exclude"] or config.force_exclude,
        progress=_progress_line(opts),
    )
    try:
        report = Runner(config, rules, settings, set(registry.rules)).run()
    finally:
        if settings.progress is not None:
            settings.progress.close()  # type: ignore[attr-defined]
    if opts["verbose"]:
        from scalelint.terminal import timing_lines

        for line in timing_lines(report.timings, report.files, report.cache_hits, cache_dir is not None):
            click.echo(line, err=True)

    texts = _final_texts(report)
    stale: list[str] = []
    if opts["baseline"] or config.baseline:  # the module only when a baseline is used
        from scalelint.report import baseline

        if opts["write_baseline"]:
            baseline_path = baseline.configured(config.root, config.baseline, opts["baseline"])
            assert baseline_path is not None
            baseline.write(baseline_path, report.findings, texts, config.root)
            click.echo(f"scalelint: recorded {len(report.findings)} findings in {baseline_path}", err=True)
            return EXIT_CLEAN
        # hidden findings take part, so that their entries do not look stale
        hidden = set(report.hidden)
        kept = baseline.filtered(report.findings + report.hidden, config.root, config.baseline, texts,
                                 report.checked, opts["baseline"])
        stale = kept.stale
        report.findings = [f for f in kept.findings if f not in hidden]
        report.hidden = [f for f in kept.findings if f in hidden]
    if changes is not None and not opts["changed_files_only"]:
        report.findings = [f for f in report.findings if changes.touches(f.path, f.line, f.end_line)]
        report.hidden = [f for f in report.hidden if changes.touches(f.path, f.line, f.end_line)]

    for warning in report.warnings:
        click.echo(f"scalelint: warning: {warning}", err=True)
    for error in report.errors:
        click.echo(f"scalelint: error: {error}", err=True)

    if opts["add_noqa"]:
        if stdin_data is not None:
            return _add_noqa_to_buffer(report, texts, stdin_data)
        return _add_noqa(report, texts)

    if opts["diff"]:
        return _print_diff(report)

    fmt = opts["output_format"] or "text"
    from scalelint.core.lines import split_lines
    from scalelint.report.formats import ReportContext, render
    from scalelint.terminal import use_color

    color = opts["color"]
    to_stdout = stdin_data is None or not opts["fix"]
    stream = sys.stdout if to_stdout else sys.stderr
    color = opts["color"] if opts["output_file"] else use_color(opts["color"], stream)
    ctx = ReportContext(
        findings=report.findings,
        errors=report.errors,
        rules=dict(registry.rules),
        files=report.files,
        fixed=report.fixed,
        statistics=opts["statistics"],
        stale_baseline=stale,
        color=bool(color),
        unsafe_fixes=opts["unsafe_fixes"],
        source_lines={p: split_lines(t) for p, t in texts.items()} if fmt == "text" else {},
        version=__version__,
        quiet=opts["quiet"],
        context_files=report.context_files,
        context_skipped=report.context_skipped,
        context_dropped=report.context_dropped,
        templated=report.templated,
        hidden=_hidden_counts(report.hidden),
        fixed_codes=report.fixed_codes if opts["show_fixes"] else {},
    )
    output = render(fmt, ctx)
    if stdin_data is not None and opts["fix"]:  # the editor replaces its buffer with stdout: always print it
        sys.stdout.flush()
        sys.stdout.buffer.write(report.stdin_bytes(stdin_data))
        sys.stdout.buffer.flush()
    if opts["output_file"]:
        _write_report(opts["output_file"], output)
    elif stdin_data is not None and opts["fix"]:
        if report.findings or fmt != "text":
            sys.stderr.write(output)
    else:
        stream.write(output)
    if any(e.internal for e in report.errors):
        return EXIT_ERROR
    if report.errors:
        return EXIT_FINDINGS if not opts["exit_zero"] else EXIT_CLEAN
    if report.findings and not opts["exit_zero"]:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _changed_paths(opts: dict, paths: list[str], from_stdin: bool):
    """--diff-base: the changed Python files under PATHS, and the change set."""
    from scalelint.core.errors import UsageError
    from scalelint.engine.gitdiff import changed_since

    if from_stdin:
        raise UsageError("--diff-base cannot be combined with stdin ('-')")
    if opts["write_baseline"]:
        raise UsageError("--diff-base cannot record a baseline (it sees only the changed files)")
    for given in paths:
        if not os.path.exists(given):
            raise UsageError(f"{given}: no such file or directory")
    anchor = Path(paths[0]) if Path(paths[0]).is_dir() else Path(paths[0]).parent
    changes = changed_since(opts["diff_base"], anchor)
    files = changes.files_under(paths)
    if not files:
        click.echo(f"scalelint: no Python file under {' '.join(paths)} changed since {opts['diff_base']}", err=True)
    return files, changes


def _progress_line(opts: dict):
    """The progress line on stderr: on a terminal, or anywhere with --progress."""
    from scalelint.terminal import ProgressLine

    terminal = sys.stderr.isatty()
    if not (opts["progress"] or (terminal and not opts["quiet"] and not opts["watch"])):
        return None
    return ProgressLine(sys.stderr, redraw=terminal)


def _write_report(path: Path, output: str) -> None:
    from scalelint.core.errors import UsageError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(output, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the report: {exc.strerror}") from None


def _notice(message: str | None) -> None:
    if message:
        click.echo(f"scalelint: notice: {message}", err=True)


def _local_rules(config, trust_flag: bool):
    """The project's local rules the user trusts (a notice says when they were skipped)."""
    from scalelint.engine.config import local_rules_to_load, trusts_local_rules

    local = local_rules_to_load(config, trusts_local_rules(config, trust_flag))
    _notice(local.notice)
    return local


def _final_texts(report) -> dict[str, str]:
    """The current text of every file with findings (after fixes)."""
    wanted = {f.path for f in report.findings}
    return {path: text for path, text in report.texts.items() if path in wanted}


def _print_diff(report) -> int:
    import difflib

    changed = 0
    for state in report.changed:
        before = state.result.original_source
        after = state.result.fixed_source
        diff = difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            fromfile=f"a/{state.display}", tofile=f"b/{state.display}",
        )
        text = "".join(diff)
        if text:
            changed += 1
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
    click.echo(f"scalelint: {changed} file{'s' if changed != 1 else ''} would be changed by --fix", err=True)
    return EXIT_FINDINGS if changed else EXIT_CLEAN


def _add_noqa(report, texts: dict[str, str]) -> int:
    from scalelint.report.noqa import add_noqa
    from scalelint.engine.runner import write_checked

    by_path: dict[str, list] = {}
    for f in report.findings:
        by_path.setdefault(f.path, []).append(f)
    total = 0
    failed = False
    written: set[Path] = set()
    for path, findings in by_path.items():
        if path not in report.encodings:
            continue
        new_text, changed = add_noqa(texts[path], findings)
        if changed:
            encoding = report.encodings[path]
            checked = texts[path].encode(encoding)
            problem = write_checked(Path(path), new_text.encode(encoding), lambda now: now == checked, written)
            if problem is not None:
                click.echo(f"scalelint: error: {path}: noqa comments not written: {problem}", err=True)
                failed = True
                continue
            total += changed
    click.echo(f"scalelint: added noqa comments to {total} line{'s' if total != 1 else ''}", err=True)
    return EXIT_FINDINGS if failed else EXIT_CLEAN


def _add_noqa_to_buffer(report, texts: dict[str, str], buffer: bytes) -> int:
    """``--add-noqa`` on stdin: print the buffer with the comments added (or
    unchanged), in its own encoding; an editor replaces its buffer with it."""
    from scalelint.report.noqa import add_noqa

    total = 0
    text = None
    if report.findings:
        path = report.findings[0].path
        text, total = add_noqa(texts[path], [f for f in report.findings if f.path == path])
    sys.stdout.flush()
    sys.stdout.buffer.write(report.stdin_bytes(buffer, text))
    sys.stdout.buffer.flush()
    click.echo(f"scalelint: added noqa comments to {total} line{'s' if total != 1 else ''}", err=True)
    return EXIT_CLEAN


@main.command("rules")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text")
@click.option("--trust-local-rules", is_flag=True, help=TRUST_HELP)
def rules_command(output_format: str, trust_local_rules: bool) -> None:
    """List every rule: code, name, fix availability and summary."""
    registry = _registry_or_exit(trust_local_rules)
    if output_format == "json":
        import json

        data = [
            {"code": r.code, "name": r.name, "summary": r.summary,
             "fix": r.fix_safety.value if r.fix_safety else None, "origin": registry.origin[r.code]}
            for r in registry.sorted()
        ]
        click.echo(json.dumps(data, indent=2))
        return
    for rule in registry.sorted():
        fix = {None: "    ", "safe": "fix ", "unsafe": "fix*"}[rule.fix_safety.value if rule.fix_safety else None]
        click.echo(f"{rule.code}  {fix}  {rule.name:<36} {rule.summary}")
    click.echo("\nfix = safe fix available, fix* = unsafe fix (--unsafe-fixes); `scalelint explain CODE` for docs")


@main.command()
@click.argument("code")
@click.option("--trust-local-rules", is_flag=True, help=TRUST_HELP)
def explain(code: str, trust_local_rules: bool) -> None:
    """Print a rule's documentation (by code or name)."""
    from scalelint.model.contexts import CONTEXTS

    config, registry = _config_and_registry(trust_local_rules)
    rule = registry.lookup(code)
    if rule is None:
        raise _fail(f"unknown rule {code!r} (see `scalelint rules`)")
    fix = rule.fix_safety.value if rule.fix_safety else "none"
    where = ", ".join(c for c in CONTEXTS if c in config.runs_in(rule.code, rule.contexts))
    click.echo(f"{rule.code} {rule.name}\n\n{rule.summary}\n\nFix: {fix}\nChecks code in: {where or 'no context'}"
               f" (contexts: {', '.join(CONTEXTS)}; see `contexts` in the configuration)\n\n{rule.docs()}")


def _registry_or_exit(trust_local_rules: bool):
    return _config_and_registry(trust_local_rules)[1]


def _config_and_registry(trust_local_rules: bool):
    from scalelint.engine.config import load_config
    from scalelint.core.errors import UsageError
    from scalelint.engine.registry import load_registry

    try:
        config = load_config(None, Path("."))
        return config, load_registry(_local_rules(config, trust_local_rules).paths)
    except UsageError as exc:
        raise _fail(str(exc)) from None


def _hidden_counts(hidden: list) -> dict[str, int]:
    """Per rule code, the findings below min-confidence (the summary counts them)."""
    from collections import Counter

    return dict(Counter(finding.code for finding in hidden))


if __name__ == "__main__":  # pragma: no cover
    main()
