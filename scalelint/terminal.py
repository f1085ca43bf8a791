"""What the command shows on a terminal besides the report: colour choice,
the progress line, ``-v`` timings, and ``--watch``'s polling loop."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, TextIO

#: directory names a watch never looks into (besides hidden ones)
UNWATCHED = {"__pycache__", "node_modules", "venv", "build", "dist", "site-packages"}


def use_color(flag: bool | None, stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """``--color/--no-color`` first, then NO_COLOR and FORCE_COLOR (set and
    not empty), then whether the stream is a terminal."""
    if flag is not None:
        return flag
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class ProgressLine:
    """``scalelint: checking 120/1889 files (85 files/s)`` on stderr. On a
    terminal it redraws one line (at most ten times a second); elsewhere
    (forced with --progress) it writes a line per phase and per second."""

    stream: TextIO
    redraw: bool  # a terminal: rewrite the line in place
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=-1.0)
    shown_at: float = field(default=-10.0)
    shown_phase: str = ""
    drawn: bool = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = self.clock()
        if self.started < 0:
            self.started = now
        interval = 0.1 if self.redraw else 1.0
        if phase == self.shown_phase and now - self.shown_at < interval and done != total:
            return
        self.shown_at, self.shown_phase = now, phase
        elapsed = now - self.started
        rate = f" ({done / elapsed:.0f} files/s)" if elapsed > 0 and phase != "project phase" else ""
        text = f"scalelint: {phase} {done}/{total} files{rate}"
        if self.redraw:
            self.stream.write("\r\x1b[K" + text)
            self.drawn = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Clear the redrawn line before the report is written."""
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = False


def timing_lines(timings: Mapping[str, float], files: int, cache_hits: int, cached: bool) -> list[str]:
    """``-v``: the run's seconds per phase and the cache hit rate."""
    lines = [f"scalelint: timing: {phase}: {seconds:.3f} s" for phase, seconds in timings.items()]
    lines.append(f"scalelint: timing: total: {sum(timings.values()):.3f} s for {files} file{'s' if files != 1 else ''}")
    if not cached:
        lines.append("scalelint: cache: off")
    else:
        rate = f" ({100 * cache_hits / files:.0f}%)" if files else ""
        lines.append(f"scalelint: cache: {cache_hits}/{files} files answered from the cache{rate}")
    return lines


def snapshot(paths: Iterable[str]) -> dict[str, tuple[int, int]]:
    """(mtime, size) of every Python and TOML file under ``paths``: what a
    watch compares to see that something changed."""
    seen: dict[str, tuple[int, int]] = {}
    for given in paths:
        top = Path(given)
        if top.is_file():
            _remember(seen, str(top))
            continue
        for directory, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in UNWATCHED]
            for name in files:
                if name.endswith((".py", ".pyi", ".toml", ".gitignore")):
                    _remember(seen, os.path.join(directory, name))
    return seen


def _remember(seen: dict[str, tuple[int, int]], path: str) -> None:
    try:
        stat = os.stat(path)
    except OSError:
        return
    seen[path] = (stat.st_mtime_ns, stat.st_size)


def watch(
    check: Callable[[], object],
    look: Callable[[], dict[str, tuple[int, int]]],
    sleep: Callable[[float], None] = time.sleep,
    interval: float = 0.5,
    rounds: int | None = None,
) -> None:
    """Run ``check``, then again each time ``look`` sees a change (polling
    every ``interval`` seconds), until interrupted (or after ``rounds`` checks)."""
    runs = 0
    try:
        while rounds is None or runs < rounds:
            before = look()
            check()
            runs += 1
            if rounds is not None and runs >= rounds:
                return
            while look() == before:
                sleep(interval)
    except KeyboardInterrupt:
        return
