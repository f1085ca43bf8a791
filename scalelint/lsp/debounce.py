"""How long a document's change waits before it is linted: a window that
follows the rhythm of that document's recent changes.

A fixed debounce fails both ways: shorter than the gaps between the
changes of a burst (a busy machine stretches 20 ms keystrokes to 50-220 ms,
and a message loop starved of the GIL reads them in clumps), every change
starts a lint the next one cancels; longer, every edit waits for it. Here a
change after a pause (nothing changed for longer than the ceiling) is linted
at once; a change within a burst waits ``multiple`` x the widest of the
document's recent gaps, clamped to [floor, ceiling], and the ceiling while
too few gaps are known to say what the rhythm is. Plain arithmetic on the
times given: the caller owns the clock."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

#: how many recent gaps of a document the window follows
HISTORY = 8
#: gaps known before the window follows them (before that: the ceiling)
MIN_GAPS = 3


@dataclass(frozen=True)
class Limits:
    """The window's bounds, in seconds (from the client's settings)."""

    floor: float
    ceiling: float
    multiple: float = 2.0

    def clamp(self, seconds: float) -> float:
        return min(max(seconds, self.floor), max(self.ceiling, self.floor))

    @property
    def pause(self) -> float:
        """A gap longer than this ends a burst."""
        return max(self.ceiling, self.floor)


@dataclass
class Rhythm:
    """The recent gaps between the changes of each document."""

    _last: dict[str, float] = field(default_factory=dict)
    _gaps: dict[str, deque[float]] = field(default_factory=dict)

    def change(self, uri: str, now: float, limits: Limits) -> float:
        """Record a change of ``uri`` at ``now``; the seconds it waits before its lint."""
        previous = self._last.get(uri)
        self._last[uri] = now
        if previous is None or now - previous > limits.pause:
            return 0.0  # after a pause: at once (if more follow, they stop it)
        gaps = self._gaps.setdefault(uri, deque(maxlen=HISTORY))
        gaps.append(now - previous)
        return self.window(uri, limits)

    def window(self, uri: str, limits: Limits) -> float:
        """The wait of a change within a burst of ``uri``."""
        gaps = self._gaps.get(uri, ())
        if len(gaps) < MIN_GAPS:
            return limits.clamp(limits.ceiling)
        return limits.clamp(limits.multiple * max(gaps))

    def settling(self, uri: str, now: float, limits: Limits) -> float:
        """The wait of a lint of ``uri`` that no change asked for (the warm-up
        done, a configuration change): none after a pause, else until the
        window of the burst's last change has passed (it starts no lint mid-burst)."""
        last = self._last.get(uri)
        if last is None or now - last > limits.pause:
            return 0.0
        return max(last + self.window(uri, limits) - now, 0.0)

    def forget(self, uri: str) -> None:
        self._last.pop(uri, None)
        self._gaps.pop(uri, None)
