"""Latency of the language server as an editor sees it: the real server
(``scalelint-lsp``) driven over stdio by a small JSON-RPC client, on a large
real views file and a small file, each copied into a scratch project.

    python bench/lsp_bench.py [--large PATH] [--small PATH] [--runs N]

Prints a markdown table (medians and p95) next to the floors the targets are
set against: ``python -c "import libcst"``, ``python -c "import
pygls.lsp.server"`` and LibCST's parse time of the large file."""
from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_client import LspClient  # noqa: E402

CORPORA = Path("/work/corpora")
LARGE = CORPORA / "netbox/netbox/extras/views.py"
SMALL = CORPORA / "netbox/netbox/extras/migrations/0108_convert_reports_to_scripts.py"
SERVER = [sys.executable, "-c", "from scalelint.lsp import main; main()"]
LINTED = re.compile(r"linted \S+ v(\d+) in (\d+) ms")


def stats(samples: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


def process_time(code: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        out.append(time.perf_counter() - started)
    return out


def parse_time(text: str, runs: int) -> list[float]:
    import libcst

    out = []
    for _ in range(runs):
        started = time.perf_counter()
        libcst.parse_module(text)
        out.append(time.perf_counter() - started)
    return out


def scratch_project(files: list[Path]) -> Path:
    root = Path(tempfile.mkdtemp(prefix="scalelint-lsp-bench-"))
    (root / "pyproject.toml").write_text("[tool.scalelint]\n")
    for path in files:
        shutil.copy(path, root / path.name)
    return root


def start(root: Path) -> tuple[LspClient, float]:
    """A server, and the time from starting it to its answer to initialize."""
    started = time.perf_counter()
    client = LspClient(SERVER, cwd=root)
    client.initialize(root, {"debounceMs": 50})
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
                    and "pending" not in m["params"]["message"])


def change_latency(client: LspClient, path: Path, runs: int, first_version: int) -> list[float]:
    """didChange -> diagnostics of that version, one change at a time."""
    uri, text, out = path.as_uri(), path.read_text(), []
    for i in range(runs):
        version = first_version + i
        mark = client.mark()
        started = time.perf_counter()
        client.notify(*client.change(uri, text + f"\n_bench_{i} = {i}\n", version))
        client.diagnostics(uri, version=version, start=mark)
        out.append(time.perf_counter() - started)
        time.sleep(0.2)
    return out


def burst(client: LspClient, path: Path, first_version: int, edits: int = 20, gap: float = 0.02) -> tuple[int, float]:
    """``edits`` changes ``gap`` apart: lints run, and seconds from the last
    edit to the last version's diagnostics."""
    uri, text, mark = path.as_uri(), path.read_text(), client.mark()
    for i in range(edits):
        client.notify(*client.change(uri, text + f"\n_burst_{first_version}_{i} = {i}\n", first_version + i))
        last_sent = time.perf_counter()
        if i < edits - 1:
            time.sleep(gap)
    last = first_version + edits - 1
    arrival = client.wait_for_received(
        lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
        and m["params"].get("version") == last, 120, mark).at
    time.sleep(0.3)  # any lint still running would log now
    lints = [m for m in client.messages("window/logMessage", mark) if LINTED.search(m["params"]["message"])]
    return len(lints), arrival - last_sent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=Path, default=LARGE)
    parser.add_argument("--small", type=Path, default=SMALL)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    for path in (args.large, args.small):
        if not path.is_file():
            print(f"lsp_bench: {path}: no such file", file=sys.stderr)
            return 2
    large_text = args.large.read_text()
    floors = {
        "import libcst": stats(process_time("import libcst", args.runs)),
        "import pygls.lsp.server": stats(process_time("import pygls.lsp.server", args.runs)),
        f"LibCST parse of {args.large.name} ({large_text.count(chr(10))} lines)": stats(parse_time(large_text, args.runs)),
    }
    small_lines = args.small.read_text().count("\n")
    root = scratch_project([args.large, args.small])
    large, small = root / args.large.name, root / args.small.name
    inits, opens = [], []
    try:
        for _ in range(args.runs):  # a fresh server each time: the editor just started
            client, seconds = start(root)
            inits.append(seconds)
            try:
                opens.append(open_and_wait(client, small))
            finally:
                client.close()
        client, _ = start(root)
        try:
            open_and_wait(client, large)
            settle(client, large.as_uri())
            changes = change_latency(client, large, max(args.runs, 10), 2)
            bursts = [burst(client, large, 100 + 100 * i) for i in range(3)]
        finally:
            client.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    lint_ms, _ = stats(changes)
    rows = [("initialize (process start → answer)", stats(inits)),
            (f"didOpen → diagnostics, {args.small.name} ({small_lines} lines)", stats(opens)),
            (f"didChange → diagnostics, {args.large.name}", stats(changes))]
    print("| measured | median ms | p95 ms |\n|---|---|---|")
    for name, (median, p95) in [*floors.items(), *rows]:
        print(f"| {name} | {median:.0f} | {p95:.0f} |")
    for lints, seconds in bursts:
        print(f"| burst of 20 edits 20 ms apart | {lints} lints | last diagnostics {seconds * 1000:.0f} ms after the last edit (one lint ≈ {lint_ms:.0f} ms) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
