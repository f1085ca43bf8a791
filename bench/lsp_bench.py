"""Latency of the language server as an editor sees it: the real server
(``scalelint-lsp``) driven over stdio by a small JSON-RPC client, on a large
real views file and a small file, each copied into a scratch project.

    python bench/lsp_bench.py [--large PATH] [--small PATH] [--runs N] [--project DIR]

Prints a markdown table (medians and p95) next to the floors the targets are
set against: ``python -c "import libcst"``, ``python -c "import
pygls.lsp.server"`` and LibCST's parse time of the large file. Floors and
server are measured in paired rounds (a floor sample, then the server's,
alternately), so that the machine's load weighs on both alike. With
``--project DIR`` (a copy of the large file's whole project), it also times
didChange while the server's project warm-up runs, against after it."""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_client import LspClient  # noqa: E402

CORPORA = Path("/work/corpora")
LARGE = CORPORA / "netbox/netbox/extras/views.py"
SMALL = CORPORA / "netbox/netbox/extras/migrations/0108_convert_reports_to_scripts.py"
SERVER = [sys.executable, "-c", "from scalelint.lsp import main; main()"]
LINTED = re.compile(r"linted \S+ v(\d+) in (\d+) ms")
STARTED = re.compile(r"linting \S+ v(\d+)$")
CANCELLED = re.compile(r"cancelled \S+ v(\d+) after")
#: the children's environment (see private_bytecode)
CHILD_ENV: dict[str, str] = dict(os.environ)


def private_bytecode() -> Path:
    """Let every child (floors and servers alike) cache bytecode, as a normal
    install does, in a private directory: with PYTHONDONTWRITEBYTECODE set
    (common in containers) an editable scalelint would be compiled from
    source at every server start, which users never pay (as bench/run.py)."""
    prefix = Path(tempfile.mkdtemp(prefix="scalelint-lsp-bench-pycache-"))
    CHILD_ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    CHILD_ENV["PYTHONPYCACHEPREFIX"] = str(prefix)
    return prefix


def stats(samples: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def process_time(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=CHILD_ENV)
    return time.perf_counter() - started


def parse_time(text: str) -> float:
    import libcst

    started = time.perf_counter()
    libcst.parse_module(text)
    return time.perf_counter() - started


def scratch_project(files: list[Path]) -> Path:
    root = Path(tempfile.mkdtemp(prefix="scalelint-lsp-bench-"))
    (root / "pyproject.toml").write_text("[tool.scalelint]\n")
    for path in files:
        shutil.copy(path, root / path.name)
    return root


def whole_project(source: Path) -> Path:
    """A scratch copy of a project's Python files (the corpora stay read-only)."""
    root = Path(tempfile.mkdtemp(prefix="scalelint-lsp-bench-project-"))
    for path in source.rglob("*.py"):
        target = root / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    (root / "pyproject.toml").write_text("[tool.scalelint]\n")
    return root


#: how a burst's edits are scheduled: the server's settings for each mode the harness compares
SCHEDULES: dict[str, dict[str, int]] = {
    "adaptive": {},  # the defaults: the debounce window follows the edits' rhythm
    "eager": {"debounceMs": 0, "debounceMaxMs": 0},  # every edit linted at once, the stale lint cancelled
    "floor20": {"debounceMs": 20},  # the adaptive window with a 20 ms floor (the default's is 50)
}


def load() -> float:
    """The 1-minute load average (what the machine's other work weighs)."""
    return os.getloadavg()[0]


def start(root: Path, options: dict[str, int] | None = None) -> tuple[LspClient, float]:
    """A server, and the time from starting it to its answer to initialize."""
    started = time.perf_counter()
    client = LspClient(SERVER, cwd=root, env=CHILD_ENV)
    client.initialize(root, options or {})
    return client, time.perf_counter() - started


def open_and_wait(client: LspClient, path: Path) -> float:
    """didOpen -> first diagnostics."""
    uri, mark = path.as_uri(), client.mark()
    started = time.perf_counter()
    client.open(uri, path.read_text())
    client.diagnostics(uri, version=1, start=mark)
    return time.perf_counter() - started


def settle(client: LspClient, uri: str) -> None:
    """Wait until the project phase ran (the lint logged without 'pending')."""
    client.wait_for(lambda m: m.get("method") == "window/logMessage" and uri in m["params"]["message"]
                    and LINTED.search(m["params"]["message"]) and "pending" not in m["params"]["message"])


#: an edit that changes the file's project facts: a new function, a query in a loop, a cache write
NEW_FUNCTION = """

def _bench_view_{n}(request):
    from django.core.cache import cache

    for job in Job.objects.filter(pk__gt={n}):
        print(job.user.username)
    cache.set(f"bench:{n}:{{request.user.pk}}", {n}, 60)
"""


def change_once(client: LspClient, uri: str, text: str, version: int, new_function: bool = False,
                cpu: list[float] | None = None) -> float:
    """didChange -> diagnostics of that version (a new line, or a new function);
    the server's CPU seconds for it appended to ``cpu``."""
    mark, cpu_before = client.mark(), client.cpu_time()
    started = time.perf_counter()
    added = NEW_FUNCTION.format(n=version) if new_function else f"\n_bench_{version} = {version}\n"
    client.notify(*client.change(uri, text + added, version))
    client.diagnostics(uri, version=version, start=mark)
    seconds = time.perf_counter() - started
    if cpu is not None:
        cpu.append(client.cpu_time() - cpu_before)
    return seconds


def fix_all_once(client: LspClient, uri: str) -> float:
    """A codeAction request for source.fixAll on the whole file, as an editor
    sends on save (its diagnostics just published): the round trip."""
    whole = {"start": {"line": 0, "character": 0}, "end": {"line": 10**6, "character": 0}}
    started = time.perf_counter()
    client.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": whole,
                                               "context": {"diagnostics": [], "only": ["source.fixAll"]}})
    return time.perf_counter() - started


@dataclass
class Burst:
    mode: str  # the schedule (SCHEDULES)
    gap_asked: float  # seconds between edits the harness asked for
    started: int  # lints begun
    cancelled: int  # of which stopped by a newer version
    completed: int  # of which published
    after_last_edit: float  # seconds from the last edit to the last version's diagnostics
    waited: float  # of which: from the last edit to the start of its lint (the debounce window)
    widest_gap: float  # seconds between two edits as sent (20 ms asked; load stretches it)
    lint: float  # seconds the last version's lint took (the server's log)
    cpu: float  # the server's CPU seconds from the first edit to the last diagnostics
    load: float  # the load average when it ran


def burst(client: LspClient, path: Path, first_version: int, mode: str, edits: int = 20, gap: float = 0.02) -> Burst:
    """``edits`` changes ``gap`` apart, and what the server did with them."""
    uri, text, mark = path.as_uri(), path.read_text(), client.mark()
    cpu_before, load_before = client.cpu_time(), load()
    sent: list[float] = []
    for i in range(edits):
        # each burst's texts its own: no server finds them in the project's cache (shared by the modes' servers)
        client.notify(*client.change(uri, text + f"\n_burst_{mode}_{first_version}_{i} = {i}\n", first_version + i))
        sent.append(time.perf_counter())
        if i < edits - 1:
            time.sleep(gap)
    last_sent = sent[-1]
    last = first_version + edits - 1
    arrival = client.wait_for_received(
        lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
        and m["params"].get("version") == last, 120, mark).at
    cpu = client.cpu_time() - cpu_before  # a cancelled lint's work ends before the next one starts
    linted = client.wait_for(lambda m: m.get("method") == "window/logMessage"
                             and f"linted {uri} v{last} in " in m["params"]["message"], 10, mark)
    lint_ms = LINTED.search(linted["params"]["message"])
    lint_start = client.wait_for_received(
        lambda m: m.get("method") == "window/logMessage" and m["params"]["message"].endswith(f"linting {uri} v{last}"),
        1, mark).at
    logs = [m["params"]["message"] for m in client.messages("window/logMessage", mark)]

    def count(pattern: re.Pattern[str]) -> int:
        return sum(1 for message in logs if pattern.search(message))

    widest = max(b - a for a, b in zip(sent, sent[1:]))
    return Burst(mode, gap, count(STARTED), count(CANCELLED), count(LINTED), arrival - last_sent, lint_start - last_sent, widest,
                 int(lint_ms.group(2)) / 1000 if lint_ms else 0.0, cpu, load_before)


@dataclass
class Samples:
    """Every sample of a run, in seconds, by row."""

    libcst: list[float] = field(default_factory=list)
    pygls: list[float] = field(default_factory=list)
    parse: list[float] = field(default_factory=list)
    initialize: list[float] = field(default_factory=list)
    did_open: list[float] = field(default_factory=list)
    did_change: list[float] = field(default_factory=list)
    did_change_cpu: list[float] = field(default_factory=list)  # the server's CPU seconds per didChange
    fix_all: list[float] = field(default_factory=list)  # codeAction source.fixAll (as on save) round trips
    bursts: list[Burst] = field(default_factory=list)
    #: didChange -> diagnostics on the whole project: while its warm-up runs, and after
    during_warm_up: list[float] = field(default_factory=list)
    after_warm_up: list[float] = field(default_factory=list)
    #: after it, edits that change the file's project facts (a new function with a query each time)
    new_function: list[float] = field(default_factory=list)
    warm_up: float = 0.0  # from the first diagnostics to the project phase done
    #: the 1-minute load average at the start and end of each part of the run
    loads: dict[str, tuple[float, float]] = field(default_factory=dict)


def startup_rounds(root: Path, small: Path, rounds: int, out: Samples) -> None:
    """Each round: the two import floors, then a fresh server (the editor just
    started): initialize, then didOpen of the small file."""
    for _ in range(rounds):
        out.libcst.append(process_time("import libcst"))
        out.pygls.append(process_time("import pygls.lsp.server"))
        client, seconds = start(root)
        try:
            out.initialize.append(seconds)
            out.did_open.append(open_and_wait(client, small))
        finally:
            client.close()


def editing_rounds(large: Path, rounds: int, out: Samples, modes: list[str], bursts: int = 3,
                   gaps: tuple[float, ...] = (0.02,)) -> None:
    """One server with the large file open and its project phase done: each
    round times LibCST's parse of the file, then one change; then ``bursts``
    bursts. Each other schedule of ``modes`` gets a server of its own, for
    its bursts, in turns with the first's."""
    clients: dict[str, LspClient] = {}
    try:
        for mode in modes:
            clients[mode], _ = start(large.parent, SCHEDULES[mode])
            open_and_wait(clients[mode], large)
            settle(clients[mode], large.as_uri())
        client, text = clients[modes[0]], large.read_text()
        for version in range(2, 2 + rounds):
            out.parse.append(parse_time(text))
            out.did_change.append(change_once(client, large.as_uri(), text, version, cpu=out.did_change_cpu))
            out.fix_all.append(fix_all_once(client, large.as_uri()))
            time.sleep(0.2)
        for g, gap in enumerate(gaps):
            for i in range(bursts):
                for mode in modes:
                    out.bursts.append(burst(clients[mode], large, 1000 * (g + 1) + 100 * i, mode, gap=gap))
                    time.sleep(0.5)
    finally:
        for client in clients.values():
            client.close()


def warm_up_rounds(root: Path, large: Path, rounds: int, out: Samples) -> None:
    """A fresh server on the whole project: ``rounds`` didChanges of the
    large file while the project warm-up (the project phase over every file)
    runs, then as many after it."""
    client, _ = start(root)
    uri, text = large.as_uri(), large.read_text()
    try:
        open_and_wait(client, large)
        first, mark, version = time.perf_counter(), client.mark(), 2
        done = lambda m: (m.get("method") == "window/logMessage" and uri in m["params"]["message"]  # noqa: E731
                          and LINTED.search(m["params"]["message"]) and "pending" not in m["params"]["message"])
        while len(out.during_warm_up) < rounds and not any(done(m) for m in client.messages("window/logMessage", mark)):
            seconds = change_once(client, uri, text, version)
            if not any(done(m) for m in client.messages("window/logMessage", mark)):
                out.during_warm_up.append(seconds)
            version += 1
            time.sleep(0.2)
        client.wait_for(done, 1800, mark)
        out.warm_up = time.perf_counter() - first
        for _ in range(rounds):
            out.after_warm_up.append(change_once(client, uri, text, version))
            version += 1
            time.sleep(0.2)
        for _ in range(rounds):
            out.new_function.append(change_once(client, uri, text, version, new_function=True))
            version += 1
            time.sleep(0.2)
    finally:
        client.close()


def report_warm_up(samples: Samples, large: Path) -> None:
    if not samples.during_warm_up:
        return
    for name, values in (("during the project warm-up", samples.during_warm_up),
                         ("after the project warm-up", samples.after_warm_up),
                         ("after the warm-up, each edit a new function (project facts changed)", samples.new_function)):
        median, p95 = stats(values)
        print(f"| didChange → diagnostics, {large.name}, whole project, {name} ({len(values)}) | {median:.0f} | {p95:.0f} |")
    print(f"| project warm-up (first diagnostics → project phase done) | {samples.warm_up * 1000:.0f} | |")


def report(samples: Samples, large: Path, small: Path) -> None:
    rows = [("`python -c \"import libcst\"`", samples.libcst), ("`python -c \"import pygls.lsp.server\"`", samples.pygls),
            (f"LibCST parse of {large.name} ({large.read_text().count(chr(10))} lines)", samples.parse),
            ("initialize (process start → answer)", samples.initialize),
            (f"didOpen → diagnostics, {small.name} ({small.read_text().count(chr(10))} lines, fresh server)", samples.did_open),
            (f"didChange → diagnostics, {large.name} (= one lint time, as the client sees it)", samples.did_change),
            ("the server's CPU per didChange (10 ms ticks)", samples.did_change_cpu),
            (f"codeAction source.fixAll (as on save), {large.name}, its diagnostics published", samples.fix_all)]
    print("| measured | median ms | p95 ms |\n|---|---|---|")
    for name, values in rows:
        if values:
            median, p95 = stats(values)
            print(f"| {name} | {median:.0f} | {p95:.0f} |")
    report_warm_up(samples, large)
    lint_ms = stats(samples.did_change)[0] if samples.did_change else 0.0
    lint_cpu_ms = stats(samples.did_change_cpu)[0] if samples.did_change_cpu else 0.0
    if samples.bursts:
        print("\n| burst of 20 edits (ms apart asked), schedule | lints started / cancelled / completed | last diagnostics after the "
              "last edit (ms) | = wait + last lint (ms) | lint time (ms) | server CPU (ms, × one didChange's) "
              "| widest gap (ms) | load |\n|---|---|---|---|---|---|---|---|")
    for b in samples.bursts:
        ratio = f" ({b.cpu * 1000 / lint_cpu_ms:.1f} ×)" if lint_cpu_ms else ""
        print(f"| {b.gap_asked * 1000:.0f}, {b.mode} | {b.started} / {b.cancelled} / {b.completed} | {b.after_last_edit * 1000:.0f} | "
              f"{b.waited * 1000:.0f} + {(b.after_last_edit - b.waited) * 1000:.0f} | {lint_ms:.0f} | "
              f"{b.cpu * 1000:.0f}{ratio} | {b.widest_gap * 1000:.0f} | {b.load:.1f} |")
    for part, (before, after) in samples.loads.items():
        print(f"load average during {part}: {before:.1f} → {after:.1f}")
    print()
    if samples.initialize and samples.did_change:
        libcst_ms, pygls_ms, parse_ms = stats(samples.libcst), stats(samples.pygls), stats(samples.parse)
        init_ms, open_ms, change_ms = stats(samples.initialize), stats(samples.did_open), stats(samples.did_change)
        targets = [("initialize ≤ pygls import + 150 ms", init_ms[0], pygls_ms[0] + 150),
                   ("didOpen ≤ 1.5 × import libcst", open_ms[0], 1.5 * libcst_ms[0]),
                   ("didChange p50 ≤ 2 × parse + 30 ms", change_ms[0], 2 * parse_ms[0] + 30),
                   ("didChange p95 ≤ 3 × parse", change_ms[1], 3 * parse_ms[0])]
        for name, measured, limit in targets:
            print(f"{name}: {measured:.0f} against {limit:.0f}: {'met' if measured <= limit else 'NOT met'}")
    for mode in dict.fromkeys(b.mode for b in samples.bursts if b.gap_asked == 0.02):
        mine = [b for b in samples.bursts if b.mode == mode and b.gap_asked == 0.02]  # the burst
        worst_cpu = max(b.cpu for b in mine) * 1000
        worst_after = max(b.after_last_edit for b in mine) * 1000
        cost = f"{worst_cpu / lint_cpu_ms:.1f} × a didChange's CPU" if lint_cpu_ms else "no didChange CPU measured"
        print(f"{mode} bursts cost ≤ 2 lints: worst {worst_cpu:.0f} ms CPU = {cost}: "
              f"{'met' if lint_cpu_ms and worst_cpu <= 2 * lint_cpu_ms else 'NOT met'}")
        print(f"{mode} bursts' last diagnostics ≤ one lint time ({lint_ms:.0f}) after the last edit: worst "
              f"{worst_after:.0f}: {'met' if worst_after <= lint_ms else 'NOT met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=Path, default=LARGE)
    parser.add_argument("--small", type=Path, default=SMALL)
    parser.add_argument("--runs", type=int, default=7, help="rounds (the didChange rows take at least 10)")
    parser.add_argument("--project", type=Path, help="the large file's project (copied): didChange during its warm-up")
    parser.add_argument("--warm-up-only", action="store_true", help="with --project: only the warm-up rows")
    parser.add_argument("--editing-only", action="store_true", help="no start-up rounds: didChange and bursts only")
    parser.add_argument("--bursts", type=int, default=3, help="bursts per schedule and gap")
    parser.add_argument("--gaps", default="20", help="ms between a burst's edits, comma-separated (20: the issue's; "
                                                     "150: typing)")
    parser.add_argument("--modes", default="adaptive,eager",
                        help=f"the schedules whose bursts are compared, the first the default ({', '.join(SCHEDULES)})")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in SCHEDULES for m in modes):
        print(f"lsp_bench: --modes takes some of {', '.join(SCHEDULES)}", file=sys.stderr)
        return 2
    for path in (args.large, args.small):
        if not path.is_file():
            print(f"lsp_bench: {path}: no such file", file=sys.stderr)
            return 2
    pycache = private_bytecode()
    root = scratch_project([args.large, args.small])
    samples = Samples()
    try:
        startup_rounds(root, root / args.small.name, 1, Samples())  # untimed: fills the bytecode cache
        if not (args.warm_up_only and args.project):
            if not args.editing_only:
                before = load()
                startup_rounds(root, root / args.small.name, args.runs, samples)
                samples.loads["the start-up rounds"] = (before, load())
            before = load()
            gaps = tuple(float(g) / 1000 for g in args.gaps.split(","))
            editing_rounds(root / args.large.name, max(args.runs, 10), samples, modes, args.bursts, gaps)
            samples.loads["the editing rounds and bursts"] = (before, load())
        if args.project is not None:
            whole = whole_project(args.project)
            try:
                warm_up_rounds(whole, whole / args.large.resolve().relative_to(args.project.resolve()),
                               max(args.runs, 10), samples)
            finally:
                shutil.rmtree(whole, ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(pycache, ignore_errors=True)
    report(samples, args.large, args.small)
    return 0


if __name__ == "__main__":
    sys.exit(main())
