"""scalelint benchmark harness (stdlib + libcst; Fixit optional).

    python bench/run.py CORPUS_DIR [--runs N] [--fixit] [--jobs J] [--serial] [--out results.json]
    python bench/run.py --synthetic N_FILES [--seed S] [--keep] [same options]
    python bench/run.py --scaling 1000,2000,4000[,8000] [--runs N] [--seed S] [--out results.json]

Measures, each as the median of N runs (default 3), in one go:

  parse-only     LibCST parse_module on every .py file, serially, in one subprocess
  cold           scalelint check CORPUS --no-cache (the whole run, interpreter start included)
  warm           scalelint check CORPUS with a filled cache
  one-file       scalelint check ONE_FILE, after a one-line edit of it, in the warm project
  import-libcst  python -c "import libcst" (the floor for the one-file case)
  fixit          fixit lint CORPUS with its default rules (only with --fixit)
  stages         CPU by stage of a serial cold run (bench/stages.py): parse, model,
                 each rule family, each project rule, the rest

With --scaling, only a table of serial cold runs over synthetic corpora of the
given sizes, in paired rounds: CPU, wall, project phase and peak RSS, each
with its ratio to the row before.

CPU is the user + system time of the child's whole process tree (from
os.wait4), the number to compare on a machine shared with other work; wall
time is shown beside it.

then prints the ratios against the performance targets. Every measurement is a
child process timed with time.perf_counter(); its peak RSS comes from
os.wait4(), which reports the largest resident set of the child and of all the
children it waited for (scalelint's worker processes), i.e. the peak of the
biggest single process of that run.

The corpus is copied into a temporary directory first (its .py files, plus the
pyproject.toml and .gitignore at its top), which becomes a project of its own:
scalelint sees exactly that tree, not a larger project around it, and the
original is never edited. With --in-place the harness works in the corpus
itself: it edits one file for the one-file case (restored afterwards, mtime
included) and deletes the corpus's scalelint cache before and after.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

HERE = Path(__file__).resolve().parent

# Directories never walked for the parse-only baseline (scalelint's default
# excludes; scalelint additionally honours .gitignore files).
EXCLUDED_DIRS = {
    ".git", ".hg", ".svn", ".bzr", ".tox", ".nox", ".venv", "venv", ".eggs", "__pypackages__",
    "__pycache__", "node_modules", "site-packages", "build", "dist", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".scalelint_cache",
}

TARGETS = {
    # name: (description, comparison, limit)
    "cold_vs_parse": ("scalelint cold / LibCST parse-only", "<=", 0.35),
    "fixit_vs_cold_per_file": ("Fixit per-file / scalelint per-file", ">=", 15.0),
    "warm_vs_cold": ("scalelint warm / cold", "<=", 0.03),
    "one_file_vs_import": ("one file after edit / import libcst", "<=", 1.6),
    "peak_rss_mb": ("peak RSS per process, scalelint (MB)", "<", 200.0),
}

# Runs in a child process: parse every file listed in argv[1] (one path a line).
# argv[2] "libcst": libcst.parse_module on the bytes, LibCST's defaults (parse-only);
# "scalelint": the decoded text, parsed the way scalelint's workers parse it
# (validation off, collector tuned), the part of a cold run nothing can remove.
PARSE_FILES = r"""
import json, sys, time
paths = open(sys.argv[1], encoding="utf-8").read().splitlines()
if sys.argv[2] == "scalelint":
    from scalelint.engine.dispatch import tune_gc
    from scalelint.engine.parsing import parse_module
    tune_gc()
    opening = {"encoding": "utf-8"}
else:
    from libcst import parse_module
    opening = {"mode": "rb"}
parsed = failed = 0
start = time.perf_counter()
for path in paths:
    try:
        with open(path, **opening) as handle:
            source = handle.read()
        parse_module(source)
        parsed += 1
    except Exception:
        failed += 1
print(json.dumps({"parsed": parsed, "failed": failed, "parse_seconds": time.perf_counter() - start}))
"""


class ScalelintError(RuntimeError):
    """scalelint exited with 2 (usage, configuration or internal error)."""

    partial: dict[str, Any] | None = None


@dataclass
class Sample:
    seconds: float
    rss_bytes: int | None
    returncode: int
    stdout: str = ""
    stderr: str = ""
    #: user + system CPU of the child and every child it reaped (its workers);
    #: unlike wall time, not inflated by other load on a shared machine
    cpu_seconds: float | None = None


@dataclass
class Measurement:
    name: str
    label: str
    samples: list[Sample] = field(default_factory=list)
    files: int | None = None
    note: str = ""

    @property
    def times(self) -> list[float]:
        return [s.seconds for s in self.samples]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def cpu_median(self) -> float | None:
        values = [s.cpu_seconds for s in self.samples if s.cpu_seconds is not None]
        return statistics.median(values) if values else None

    @property
    def peak_rss_mb(self) -> float | None:
        values = [s.rss_bytes for s in self.samples if s.rss_bytes is not None]
        return max(values) / (1024 * 1024) if values else None

    @property
    def files_per_second(self) -> float | None:
        if not self.files or not self.samples or self.median <= 0:
            return None
        return self.files / self.median

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "times": [round(t, 4) for t in self.times],
            "median": round(self.median, 4) if self.samples else None,
            "cpu_median": round(self.cpu_median, 4) if self.cpu_median is not None else None,
            "files": self.files,
            "files_per_s": round(self.files_per_second, 1) if self.files_per_second else None,
            "peak_rss_mb": round(self.peak_rss_mb, 1) if self.peak_rss_mb is not None else None,
            "returncodes": [s.returncode for s in self.samples],
            "note": self.note,
        }


# ----------------------------------------------------------------------------------------
# Running children
# ----------------------------------------------------------------------------------------
CHILD_ENV: dict[str, str] = {}  # extra environment for every child (see configure_bytecode)
CHILD_ENV_DROP: set[str] = {"SCALELINT_DEBUG"}


def configure_bytecode(keep_environment: bool) -> Path | None:
    """Let the children cache bytecode like a normal install does.

    With PYTHONDONTWRITEBYTECODE set (common in containers), an editable
    scalelint is recompiled from source on every start, which a user never
    pays. The children get a private PYTHONPYCACHEPREFIX instead, so nothing
    is written next to the sources; a warm-up run fills it."""
    if keep_environment:
        return None
    prefix = Path(tempfile.mkdtemp(prefix="scalelint-bench-pycache-"))
    CHILD_ENV["PYTHONPYCACHEPREFIX"] = str(prefix)
    CHILD_ENV_DROP.add("PYTHONDONTWRITEBYTECODE")
    return prefix


def run_child(cmd: list[str], cwd: Path | None = None, capture_stdout: bool = False) -> Sample:
    """Run ``cmd``; wall time by perf_counter, peak RSS of it and its reaped children by wait4."""
    env = {k: v for k, v in os.environ.items() if k not in CHILD_ENV_DROP}
    env.update(CHILD_ENV)
    env.setdefault("NO_COLOR", "1")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stdout = out if capture_stdout else subprocess.DEVNULL
        if hasattr(os, "wait4"):
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            # ru_maxrss is in KiB on Linux, bytes on macOS
            rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
            cpu = usage.ru_utime + usage.ru_stime
        else:  # no wait4 (Windows): time only
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err)
            seconds = time.perf_counter() - start
            rss = cpu = None
        out.seek(0)
        err.seek(0)
        return Sample(
            seconds=seconds,
            rss_bytes=rss,
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace") if capture_stdout else "",
            stderr=err.read().decode("utf-8", "replace"),
            cpu_seconds=cpu,
        )


def scalelint_cmd(*args: str, jobs: int | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "scalelint", "check", *args]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    return cmd


def run_scalelint(cmd: list[str], cwd: Path, capture_stdout: bool = False) -> Sample:
    sample = run_child(cmd, cwd=cwd, capture_stdout=capture_stdout)
    if sample.returncode == 2 or sample.returncode < 0:
        raise ScalelintError(
            f"scalelint exited with {sample.returncode}: {' '.join(cmd)}\n--- stderr ---\n{sample.stderr.rstrip()}"
        )
    return sample


# ----------------------------------------------------------------------------------------
# Corpus helpers
# ----------------------------------------------------------------------------------------
def discover(root: Path) -> list[Path]:
    files = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_DIRS)
        for name in sorted(filenames):
            if name.endswith(".py"):
                files.append(Path(directory) / name)
    return files


def warm_page_cache(files: list[Path]) -> int:
    """Read every file once so that no measurement pays for the first disk read."""
    total = 0
    for path in files:
        try:
            total += len(path.read_bytes())
        except OSError:
            pass
    return total


def cache_dir_for(corpus: Path) -> Path:
    """Where scalelint keeps the cache for this corpus (scalelint.engine.cache.locate_cache)."""
    try:
        from scalelint.engine.cache import locate_cache
        from scalelint.engine.config import load_config

        return locate_cache(load_config(None, corpus)).directory
    except Exception:  # scalelint's internals moved: mirror its documented rule
        start = corpus.resolve()
        for directory in [start, *start.parents]:
            if (directory / "pyproject.toml").is_file() or (directory / ".git").exists():
                return directory / ".scalelint_cache"
        return start / ".scalelint_cache"


def copy_as_project(corpus: Path, dest: Path) -> Path:
    """The corpus's .py files (and its top-level pyproject.toml/.gitignore) under
    ``dest``, marked as a project root so that no enclosing project is seen."""
    def ignore(directory: str, names: list[str]) -> list[str]:
        return [n for n in names if not n.endswith(".py") and not os.path.isdir(os.path.join(directory, n))]

    shutil.copytree(corpus, dest, ignore=ignore, symlinks=False)
    for name in ("pyproject.toml", ".gitignore"):
        if (corpus / name).is_file():
            shutil.copy2(corpus / name, dest / name)
    if not (dest / "pyproject.toml").exists():
        (dest / "pyproject.toml").write_text("# written by bench/run.py: marks the project root\n", encoding="utf-8")
    return dest


def remove_cache(cache_dir: Path) -> None:
    if cache_dir.name and cache_dir.is_dir():
        shutil.rmtree(cache_dir, ignore_errors=True)


def prefiltered(files: list[Path]) -> list[Path] | None:
    """The files whose text the default rules' vocabulary prefilter lets
    through (None when scalelint's internals cannot be reached)."""
    loaded = _rule_prefilter()
    if loaded is None:
        return None
    out = []
    for path in files:
        try:
            if loaded[0].any(path.read_bytes().decode("utf-8", "replace")):
                out.append(path)
        except OSError:
            continue
    return out


def pick_one_file(files: list[Path], *, every_family: bool = False) -> Path | None:
    """The median-sized file among those scalelint would parse (its rules'
    vocabulary prefilter matches), so the one-file row pays for LibCST and the
    rules; else a mid-sized file that mentions "cursor" or "objects"; else any.
    With ``every_family``, among the files that match a rule of every family
    (connections, replicas, caches): the one-file case that imports the most
    (None when no file does)."""
    loaded = _rule_prefilter()

    def matches(text: str) -> bool:
        if loaded is None:
            return False
        prefilter, family = loaded
        if every_family:
            return {family[i] for i in prefilter.matching(text)} == set(family)
        return prefilter.any(text)

    sized, mentioning, matching = [], [], []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        entry = (len(data), str(path))
        sized.append(entry)
        if b"cursor" in data or b"objects" in data:
            mentioning.append(entry)
        if matches(data.decode("utf-8", "replace")):
            matching.append(entry)
    pool = sorted(matching if every_family else matching or mentioning or sized)
    return Path(pool[len(pool) // 2][1]) if pool else None


def _rule_prefilter():
    """scalelint's vocabulary prefilter for its default file rules, and each rule's
    family (``SL1``...); None when scalelint's internals moved (the picks then fall
    back to plain heuristics)."""
    try:
        from scalelint.engine.prefilter import Prefilter
        from scalelint.engine.registry import load_registry

        rules = [r for r in load_registry().rules.values() if r.code not in ("SL001", "SL002")]
        return Prefilter.for_rules([r.vocabulary for r in rules], {}), [r.code[:3] for r in rules]
    except Exception:
        return None


@contextmanager
def restored(path: Path) -> Iterator[bytes]:
    """The file's bytes; its bytes and mtime are put back afterwards, whatever happens."""
    original, stat = path.read_bytes(), path.stat()
    try:
        yield original
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def _appended(original: bytes, i: int) -> bytes:
    """A comment line appended: no fact of the file moves."""
    newline = b"" if original.endswith(b"\n") or not original else b"\n"
    return original + newline + f"# scalelint bench edit {i} {time.time_ns()}\n".encode()


def _prepended(original: bytes, i: int) -> bytes:
    """``i + 1`` comment lines near the top (after a shebang or encoding line): every position moves."""
    head, rest = _split_header(original)
    return head + f"# scalelint bench edit {i} {time.time_ns()}\n".encode() * (i + 1) + rest


def _split_header(data: bytes) -> tuple[bytes, bytes]:
    """A shebang or encoding line stays first (PEP 263 reads only the first two lines)."""
    first, newline, rest = data.partition(b"\n")
    if newline and (first.startswith(b"#!") or b"coding" in first):
        return first + newline, rest
    return b"", data


def versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in ("libcst", "scalelint", "fixit"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def fixit_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("fixit") is not None


def fixit_command() -> list[str]:
    exe = Path(sys.executable).with_name("fixit")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("fixit")
    return [found] if found else [sys.executable, "-m", "fixit"]


def summarize_findings(stdout: str) -> dict[str, int] | None:
    try:
        findings = json.loads(stdout)
    except ValueError:
        return None
    counts: dict[str, int] = {}
    for finding in findings if isinstance(findings, list) else []:
        code = finding.get("code", "?")
        counts[code] = counts.get(code, 0) + 1
    return dict(sorted(counts.items()))


# ----------------------------------------------------------------------------------------
# The benchmark
# ----------------------------------------------------------------------------------------
def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def benchmark(corpus: Path, runs: int, use_fixit: bool, jobs: int | None, serial: bool) -> dict[str, Any]:
    corpus = corpus.resolve()
    files = discover(corpus)
    if not files:
        raise SystemExit(f"no .py files under {corpus}")
    n = len(files)
    size = warm_page_cache(files)
    log(f"corpus {corpus}: {n} .py files, {size / 1e6:.1f} MB; {runs} runs each; {os.cpu_count()} CPUs")
    results: dict[str, Measurement] = {}
    extra: dict[str, Any] = {}
    cache_dir = cache_dir_for(corpus)
    extra["cache_dir"] = str(cache_dir)

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as listing:
        listing.write("\n".join(str(p) for p in files))

    def report() -> dict[str, Any]:
        return {"corpus": str(corpus), "py_files": n, "py_megabytes": round(size / 1e6, 2), "runs": runs,
                "cpu_count": os.cpu_count(), "jobs": jobs, "versions": versions(),
                "bytecode": "private PYTHONPYCACHEPREFIX" if "PYTHONPYCACHEPREFIX" in CHILD_ENV else "environment as is",
                "measurements": {k: m for k, m in results.items() if m.samples},
                "extra": extra, "ratios": ratios(results, extra.get("prefiltered_parse_seconds"))}

    try:
        # 0. warm-up, not timed: interpreter, bytecode cache, lazily imported modules
        log("  warm-up")
        edited = pick_one_file(files)
        every_family = pick_one_file(files, every_family=True)
        one = edited or files[0]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as few:
            few.write("\n".join(str(p) for p in files[:20]))
        try:
            run_child([sys.executable, "-c", PARSE_FILES, few.name, "libcst"])
        finally:
            os.unlink(few.name)
        run_child([sys.executable, "-c", "import libcst"])
        # a copy outside the project: a one-file run inside it without a cache would
        # compute the project facts of every other file. Rule families load on first
        # use, so the file matching every family warms all their modules' bytecode.
        with tempfile.TemporaryDirectory(prefix="scalelint-bench-warmup-") as scratch:
            copy = Path(scratch) / "warmup.py"
            copy.write_bytes(one.read_bytes())
            copy_every = Path(scratch) / "warmup_every.py"
            copy_every.write_bytes((every_family or one).read_bytes())
            run_scalelint(scalelint_cmd(str(copy), str(copy_every), "--no-cache", "--exit-zero", "-q"), cwd=Path(scratch))
            if use_fixit and fixit_available():
                run_child([*fixit_command(), "lint", str(copy)], cwd=Path(scratch))

        # 1. LibCST parse-only, serial
        m = results["parse_only"] = Measurement("parse_only", "LibCST parse-only (serial)", files=n)
        for i in range(runs):
            log(f"  parse-only {i + 1}/{runs}")
            sample = run_child([sys.executable, "-c", PARSE_FILES, listing.name, "libcst"], capture_stdout=True)
            if sample.returncode != 0:
                raise SystemExit(f"parse-only run failed ({sample.returncode}):\n{sample.stderr}")
            m.samples.append(sample)
        info = json.loads(m.samples[-1].stdout)
        m.note = f"{info['failed']} files failed to parse/decode" if info["failed"] else ""
        extra["parse_only"] = info

        # 1b. the files scalelint's prefilter lets through, parsed as its workers do
        # (informational: the cold run's lower bound)
        passing = prefiltered(files)
        if passing is not None:
            share = sum(p.stat().st_size for p in passing) / size if size else 0.0
            m = results["parse_prefiltered"] = Measurement(
                "parse_prefiltered", "LibCST parse, prefiltered files", files=len(passing),
                note=f"not a target: {len(passing)} files, {share:.0%} of the bytes")
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as few:
                few.write("\n".join(str(p) for p in passing))
            try:
                for i in range(runs):
                    log(f"  parse prefiltered {i + 1}/{runs}")
                    m.samples.append(run_child([sys.executable, "-c", PARSE_FILES, few.name, "scalelint"], capture_stdout=True))
            finally:
                os.unlink(few.name)
            # parsing alone, without the interpreter's start: the bound must not be overstated
            extra["prefiltered_parse_seconds"] = statistics.median(json.loads(x.stdout)["parse_seconds"] for x in m.samples)

        # 2. scalelint cold
        m = results["cold"] = Measurement("cold", "scalelint cold (--no-cache)", files=n)
        cmd = scalelint_cmd(str(corpus), "--no-cache", "--exit-zero", "--output-format", "json", "-q", jobs=jobs)
        for i in range(runs):
            log(f"  scalelint cold {i + 1}/{runs}")
            m.samples.append(run_scalelint(cmd, cwd=corpus, capture_stdout=True))
        extra["findings"] = summarize_findings(m.samples[-1].stdout)
        for s in m.samples:
            s.stdout = ""
        m.note = f"jobs={jobs if jobs is not None else 'default'}"

        if serial:
            m = results["cold_serial"] = Measurement("cold_serial", "scalelint cold, --jobs 1", files=n)
            cmd1 = scalelint_cmd(str(corpus), "--no-cache", "--exit-zero", "--output-format", "json", "-q", jobs=1)
            for i in range(runs):
                log(f"  scalelint cold -j1 {i + 1}/{runs}")
                m.samples.append(run_scalelint(cmd1, cwd=corpus))

        # 3. scalelint warm: fill the cache once, then time runs that find it full
        remove_cache(cache_dir)
        fill = results["fill"] = Measurement("fill", "scalelint cache-filling run", files=n, note="not a target")
        warm_cmd = scalelint_cmd(str(corpus), "--exit-zero", "-q", jobs=jobs)
        log("  scalelint cache fill")
        fill.samples.append(run_scalelint(warm_cmd, cwd=corpus))
        m = results["warm"] = Measurement("warm", "scalelint warm (cache filled)", files=n)
        for i in range(runs):
            log(f"  scalelint warm {i + 1}/{runs}")
            m.samples.append(run_scalelint(warm_cmd, cwd=corpus))
        if not cache_dir.is_dir():
            m.note = f"no cache found at {cache_dir}"

        # 4. one file after a one-line edit, in the warm project
        def timed_edits(m: Measurement, path: Path, original: bytes, label: str, edit) -> None:
            for i in range(runs):
                log(f"  {label} {i + 1}/{runs}")
                path.write_bytes(edit(original, i))
                m.samples.append(run_scalelint(scalelint_cmd(str(path), "--exit-zero", "-q"), cwd=corpus))

        m = results["one_file"] = Measurement("one_file", "scalelint one file after edit", files=1)
        if edited is not None:
            with restored(edited) as original:
                m.note = f"{edited.relative_to(corpus)} ({len(original) // 1024} KB)"
                timed_edits(m, edited, original, "scalelint one file", _appended)
                # 4b. the same with a line inserted near the top: every fact of the file
                # moves, so the project phase runs again (the appended comment moves none)
                moved = results["one_file_moved"] = Measurement(
                    "one_file_moved", "scalelint one file, lines moved", files=1)
                moved.note = "not a target: every position in the file moves"
                timed_edits(moved, edited, original, "scalelint one file, moved", _prepended)
        else:
            m.note = "no file to edit"
        # 4c. the one-file case that imports every rule family
        if every_family is not None:
            m = results["one_file_every"] = Measurement(
                "one_file_every", "scalelint one file, every family", files=1)
            with restored(every_family) as original:
                m.note = f"not a target: {every_family.relative_to(corpus)} ({len(original) // 1024} KB)"
                timed_edits(m, every_family, original, "scalelint one file, every family", _appended)

        # 4d. CPU by stage (parse, model, each family, each project rule), serial, in one process
        splits = []
        for i in range(runs):
            log(f"  CPU by stage {i + 1}/{runs}")
            splits.append(stage_split_child(corpus))
        extra["stages"] = median_split(splits)

        # 5. python -c "import libcst"
        m = results["import_libcst"] = Measurement("import_libcst", 'python -c "import libcst"')
        for i in range(runs):
            m.samples.append(run_child([sys.executable, "-c", "import libcst"]))

        # 6. Fixit
        if use_fixit:
            if not fixit_available():
                log("  fixit is not importable: skipped (pip install fixit)")
                extra["fixit"] = "not installed"
            else:
                m = results["fixit"] = Measurement("fixit", "Fixit lint (default rules)", files=n)
                for i in range(runs):
                    log(f"  fixit {i + 1}/{runs}")
                    sample = run_child([*fixit_command(), "lint", str(corpus)], cwd=corpus)
                    if sample.returncode < 0 or sample.returncode > 1 and "Traceback" in sample.stderr:
                        m.note = f"exit {sample.returncode}: {sample.stderr.strip().splitlines()[-1:]}"
                    m.samples.append(sample)
    except ScalelintError as exc:
        exc.partial = report()
        raise
    finally:
        remove_cache(cache_dir)
        os.unlink(listing.name)

    return report()


def ratios(results: dict[str, Measurement], prefiltered_parse: float | None = None) -> dict[str, dict[str, Any]]:
    def med(key: str) -> float | None:
        m = results.get(key)
        return m.median if m is not None and m.samples else None

    values: dict[str, float | None] = {}
    parse, cold, warm = med("parse_only"), med("cold"), med("warm")
    one, imp, fixit = med("one_file"), med("import_libcst"), med("fixit")
    values["cold_vs_parse"] = cold / parse if cold and parse else None
    n = results["cold"].files if "cold" in results else None  # same count for Fixit
    if fixit and cold and n:
        values["fixit_vs_cold_per_file"] = (fixit / n) / (cold / n)
    else:
        values["fixit_vs_cold_per_file"] = None
    values["warm_vs_cold"] = warm / cold if warm and cold else None
    values["one_file_vs_import"] = one / imp if one and imp else None
    rss = [results[k].peak_rss_mb for k in ("cold", "cold_serial", "fill", "warm", "one_file", "one_file_moved", "one_file_every")
           if k in results]
    rss = [r for r in rss if r is not None]
    values["peak_rss_mb"] = max(rss) if rss else None
    floor = prefiltered_parse
    values["cold_floor"] = floor / (os.cpu_count() or 1) / parse if floor and parse else None
    every = med("one_file_every")
    values["one_file_every"] = every / imp if every and imp else None

    out = {}
    for key, (label, op, limit) in TARGETS.items():
        value = values[key]
        ok = None
        if value is not None:
            ok = {"<=": value <= limit, ">=": value >= limit, "<": value < limit}[op]
        out[key] = {"label": label, "value": None if value is None else round(value, 4), "target": f"{op} {limit:g}",
                    "ok": ok}
    informational = {  # not targets: what the cold ratio cannot go below; the one-file case that imports most
        "cold_floor": "lower bound of cold / parse-only",
        "one_file_every": "one file, every family / import libcst",
    }
    for key, label in informational.items():
        if values[key] is not None:
            out[key] = {"label": label, "value": round(values[key], 4), "target": "-", "ok": None}
    return out


# ----------------------------------------------------------------------------------------
# CPU by stage, and growth with the project's size
# ----------------------------------------------------------------------------------------
def stage_split_child(corpus: Path) -> tuple[Sample, dict[str, Any]]:
    """One serial cold run of bench/stages.py over ``corpus`` in a child: the
    child's CPU, wall and RSS, and its CPU by stage."""
    sample = run_child([sys.executable, str(HERE / "stages.py"), str(corpus), "--json"], cwd=corpus, capture_stdout=True)
    if sample.returncode != 0:
        raise ScalelintError(f"bench/stages.py failed on {corpus}:\n{sample.stderr.rstrip()}")
    return sample, json.loads(sample.stdout.strip().splitlines()[-1])


def median_split(runs: list[tuple[Sample, dict[str, Any]]]) -> dict[str, Any]:
    """Per stage, the median over runs (each stage's own median)."""
    stages = sorted({stage for _, split in runs for stage in split["stages"]})
    return {
        "total": statistics.median(split["total"] for _, split in runs),
        "files": runs[0][1]["files"],
        "findings": runs[0][1]["findings"],
        "stages": {stage: statistics.median(split["stages"].get(stage, 0.0) for _, split in runs) for stage in stages},
    }


def print_stages(split: dict[str, Any]) -> None:
    total = split["total"]
    project = sum(v for k, v in split["stages"].items() if k.startswith("project:"))
    print(f"CPU by stage, one serial run (median per stage; {total:.2f} s CPU in all, project phase {project:.2f} s):")
    for stage, seconds in split["stages"].items():
        print(f"  {stage:<24} {seconds:8.3f} s  {100 * seconds / total if total else 0:5.1f}%")


def scaling(sizes: list[int], runs: int, seed: int) -> dict[str, Any]:
    """Serial cold runs over synthetic corpora of each size, in paired rounds
    (every size once per round, so load on the machine hits all alike)."""
    sys.path.insert(0, str(HERE))
    import corpus as synthetic

    tmp = Path(tempfile.mkdtemp(prefix="scalelint-scaling-"))
    try:
        dirs = {}
        for size in sizes:
            dirs[size] = tmp / str(size)
            log(f"generating {size} synthetic files (seed {seed})")
            synthetic.generate(dirs[size], size, seed)
        taken: dict[int, list[tuple[Sample, dict[str, Any]]]] = {size: [] for size in sizes}
        for i in range(runs):
            for size in sizes:
                log(f"  round {i + 1}/{runs}: {size} files")
                taken[size].append(stage_split_child(dirs[size]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    for size in sizes:
        samples = [sample for sample, _ in taken[size]]
        split = median_split(taken[size])
        rows.append({
            "files": size,
            "cpu_s": statistics.median(s.cpu_seconds or 0.0 for s in samples),
            "wall_s": statistics.median(s.seconds for s in samples),
            "peak_rss_mb": max((s.rss_bytes or 0) for s in samples) / (1024 * 1024),
            "project_s": sum(v for k, v in split["stages"].items() if k.startswith("project:")),
            "stages": split["stages"],
        })
    return {"seed": seed, "runs": runs, "rows": rows}


def print_scaling(table: dict[str, Any]) -> None:
    print(f"\nscaling: synthetic corpora, scalelint --jobs 1 cold (bench/stages.py), median of {table['runs']} paired rounds")
    header = (f"{'files':>6} {'CPU s':>9} {'x prev':>7} {'wall s':>9} {'project s':>10} {'x prev':>7} "
              f"{'peak RSS MB':>12} {'x prev':>7}")
    print(header)
    print("-" * len(header))
    previous = None
    for row in table["rows"]:
        def ratio(key: str) -> str:
            return fmt(row[key] / previous[key] if previous and previous[key] else None, ".2f")
        print(f"{row['files']:>6} {row['cpu_s']:>9.2f} {ratio('cpu_s'):>7} {row['wall_s']:>9.2f} "
              f"{row['project_s']:>10.3f} {ratio('project_s'):>7} {row['peak_rss_mb']:>12.1f} {ratio('peak_rss_mb'):>7}")
        previous = row
    last = table["rows"][-1]
    print("project phase per rule at the largest size: " + ", ".join(
        f"{k.split(':', 1)[1]} {v:.3f} s" for k, v in last["stages"].items() if k.startswith("project:")))


# ----------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------
def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_report(report: dict[str, Any]) -> None:
    ms: dict[str, Measurement] = report["measurements"]
    v = report["versions"]
    print()
    print(f"corpus: {report['corpus']}")
    print(f"        {report['py_files']} .py files, {report['py_megabytes']} MB; median of {report['runs']} runs; "
          f"{report['cpu_count']} CPUs; scalelint jobs={report['jobs'] if report['jobs'] is not None else 'default'}")
    print(f"        python {v['python']}, libcst {v['libcst']}, scalelint {v['scalelint']}, fixit {v['fixit'] or '-'}; "
          f"bytecode: {report['bytecode']}")
    header = (f"{'measurement':<34} {'median s':>9} {'CPU s':>8} {'min s':>8} {'max s':>8} {'files/s':>9} "
              f"{'ms/file':>8} {'peak RSS MB':>11}  note")
    print()
    print(header)
    print("-" * len(header))
    for m in ms.values():
        if not m.samples:
            print(f"{m.label:<34} {'-':>9} {'-':>8} {'-':>8} {'-':>8} {'-':>9} {'-':>8} {'-':>11}  {m.note}")
            continue
        per_file = m.median / m.files * 1000 if m.files else None
        print(
            f"{m.label:<34} {m.median:>9.3f} {fmt(m.cpu_median, '.3f'):>8} {min(m.times):>8.3f} {max(m.times):>8.3f} "
            f"{fmt(m.files_per_second, '.0f'):>9} {fmt(per_file, '.3f'):>8} {fmt(m.peak_rss_mb, '.1f'):>11}  {m.note}"
        )
    if report["extra"].get("stages"):
        print()
        print_stages(report["extra"]["stages"])
    findings = report["extra"].get("findings")
    if findings is not None:
        total = sum(findings.values())
        detail = ", ".join(f"{code} {count}" for code, count in findings.items()) or "none"
        print(f"\nscalelint findings (cold run): {total} ({detail})")
    print()
    header = f"{'target':<40} {'value':>10} {'target':>9}  result"
    print(header)
    print("-" * len(header))
    for r in report["ratios"].values():
        result = "n/a" if r["ok"] is None else ("PASS" if r["ok"] else "FAIL")
        if r["target"] == "-":
            result = "information"
        print(f"{r['label']:<40} {fmt(r['value'], '.3f'):>10} {r['target']:>9}  {result}")
    if "cold_floor" in report["ratios"]:
        print("\nlower bound: parsing the prefiltered files once each with LibCST, spread perfectly over every CPU,\n"
              "with rules, start-up and the cache free; no run that parses each of them can be faster.")
    print()


def to_json(report: dict[str, Any]) -> dict[str, Any]:
    out = dict(report)
    out["measurements"] = {k: m.to_json() for k, m in report["measurements"].items()}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark scalelint against LibCST parsing (and Fixit).")
    parser.add_argument("corpus", nargs="?", type=Path, help="directory of Python code to check")
    parser.add_argument("--synthetic", type=int, metavar="N_FILES", help="generate a synthetic corpus of N files instead")
    parser.add_argument("--seed", type=int, default=0, help="seed for --synthetic (default 0)")
    parser.add_argument("--in-place", action="store_true",
                        help="benchmark the corpus where it is (with its enclosing project) instead of a copy")
    parser.add_argument("--keep", action="store_true", help="keep the generated synthetic corpus (path is printed)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the median is reported (default 3)")
    parser.add_argument("--fixit", action="store_true", help="also time `fixit lint` with its default rules")
    parser.add_argument("--jobs", type=int, default=None, help="pass --jobs J to the corpus-wide scalelint runs")
    parser.add_argument("--serial", action="store_true", help="also time a cold run with --jobs 1")
    parser.add_argument("--out", type=Path, help="write the results as JSON to this file")
    parser.add_argument("--keep-env", action="store_true",
                        help="run the children with the environment as is (default: a private bytecode cache, "
                             "PYTHONDONTWRITEBYTECODE dropped)")
    parser.add_argument("--scaling", metavar="SIZES",
                        help="only the scaling table: comma-separated synthetic corpus sizes, e.g. 1000,2000,4000,8000")
    args = parser.parse_args(argv)
    if args.scaling:
        table = scaling([int(n) for n in args.scaling.split(",")], args.runs, args.seed)
        print_scaling(table)
        if args.out:
            args.out.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
        return 0
    if (args.corpus is None) == (args.synthetic is None):
        parser.error("give either CORPUS_DIR or --synthetic N_FILES")
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    tmp: Path | None = None
    pycache = configure_bytecode(args.keep_env)
    try:
        if args.synthetic is not None:
            sys.path.insert(0, str(HERE))
            import corpus as synthetic

            tmp = Path(tempfile.mkdtemp(prefix="scalelint-bench-"))
            corpus_dir = tmp / "corpus"
            log(f"generating {args.synthetic} synthetic files (seed {args.seed}) in {corpus_dir}")
            synthetic.generate(corpus_dir, args.synthetic, args.seed)
            if not (corpus_dir / "pyproject.toml").exists():
                (corpus_dir / "pyproject.toml").write_text("# written by bench/run.py: marks the project root\n", encoding="utf-8")
        else:
            if not args.corpus.is_dir():
                parser.error(f"{args.corpus} is not a directory")
            corpus_dir = args.corpus
            if not args.in_place:
                tmp = Path(tempfile.mkdtemp(prefix="scalelint-bench-"))
                corpus_dir = copy_as_project(args.corpus.resolve(), tmp / args.corpus.resolve().name)
                log(f"copied {args.corpus} to {corpus_dir}")
        try:
            report = benchmark(corpus_dir, args.runs, args.fixit, args.jobs, args.serial)
        except ScalelintError as exc:
            print(str(exc), file=sys.stderr)
            if exc.partial and exc.partial["measurements"]:
                print("\nmeasurements taken before scalelint failed:")
                print_report(exc.partial)
                if args.out:
                    args.out.write_text(json.dumps(to_json(exc.partial), indent=2) + "\n", encoding="utf-8")
            return 2
        if args.synthetic is not None:
            report["synthetic"] = {"files": args.synthetic, "seed": args.seed}
        print_report(report)
        if args.out:
            args.out.write_text(json.dumps(to_json(report), indent=2) + "\n", encoding="utf-8")
            log(f"wrote {args.out}")
        return 0
    finally:
        if pycache is not None:
            shutil.rmtree(pycache, ignore_errors=True)
        if tmp is not None:
            if args.keep and args.synthetic is not None:
                log(f"kept synthetic corpus at {tmp / 'corpus'}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
