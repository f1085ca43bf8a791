"""Lints off the message loop: one worker thread, changes debounced, only
the latest version of a document linted, a lint in flight stopped as soon
as its document changes again, and a result published only while its
version is still the document's latest."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from scalelint.engine.guard import Interrupted, Interruption
from scalelint.lsp.debounce import Limits, Rhythm


@dataclass
class Job:
    uri: str
    version: int
    text: str
    due: float  # the scheduler's clock at which the lint may start
    #: stopped when a newer text of the document arrives while this one is linted
    interruption: Interruption = field(default_factory=Interruption)


class LintScheduler:
    """``submit`` records the newest text of a document; the worker lints it
    at once, or, for an edit within a burst of edits, once no newer text
    arrived for the debounce window (scalelint.lsp.debounce: it follows the
    document's recent gaps between edits; the first edit after a pause is not
    made to wait, and if more follow, its lint is stopped). ``clock`` (seconds,
    monotonic) is injectable for tests. ``work(job)`` lints and
    returns a result (an exception it raised is the result); ``deliver(job, result)`` is called only when ``job`` is
    still the document's latest version (an old version is never delivered).
    A newer text, or the document's closing, stops the lint in flight: its
    guarded checks are interrupted (scalelint.engine.guard.Interruption),
    ``work`` may call ``job.interruption.check()`` between its own steps, and
    an interrupted lint delivers nothing."""

    def __init__(self, work: Callable[[Job], object], deliver: Callable[[Job, object], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._work, self._deliver, self._clock = work, deliver, clock
        self._pending: dict[str, Job] = {}
        self._latest: dict[str, int] = {}
        self._rhythm = Rhythm()
        self._running: Job | None = None  # the job being linted now
        #: set while no lint is queued or running (background work gives way otherwise)
        self.idle = threading.Event()
        self.idle.set()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="scalelint-lint", daemon=True)
        self._thread.start()

    def submit(self, uri: str, version: int, text: str, edit: Limits | None = None,
               settle: Limits | None = None) -> None:
        """Lint this text of ``uri``: at once, or for an ``edit``, after the
        debounce window its rhythm gives within these limits. A lint no edit
        asked for (``settle``: the limits of the document's edits) waits while
        the document is in a burst of edits, as long as its last edit's lint
        waits, and stops no lint in flight then."""
        with self._cond:
            now = self._clock()
            due = now
            if edit is not None:
                due += self._rhythm.change(uri, now, edit)
            elif settle is not None:
                due += self._rhythm.settling(uri, now, settle)
                pending = self._pending.get(uri)
                due = max(due, pending.due) if pending is not None else due
            self._latest[uri] = version
            self._pending[uri] = Job(uri, version, text, due)
            self._update_idle()
            if edit is not None or due <= now:
                self._interrupt(uri)
            self._cond.notify()

    def forget(self, uri: str) -> None:
        """The document closed: nothing of it is linted or delivered any more."""
        with self._cond:
            self._latest.pop(uri, None)
            self._pending.pop(uri, None)
            self._rhythm.forget(uri)
            self._interrupt(uri)
            self._update_idle()

    def _update_idle(self) -> None:
        """Set ``idle`` when nothing is queued or running (called holding the condition)."""
        if self._pending or self._running is not None:
            self.idle.clear()
        else:
            self.idle.set()

    def _interrupt(self, uri: str) -> None:
        """Stop the lint in flight if it is of ``uri`` (called holding the condition)."""
        if self._running is not None and self._running.uri == uri:
            self._running.interruption.stop()

    def is_current(self, uri: str, version: int) -> bool:
        with self._cond:
            return self._latest.get(uri) == version

    def open_documents(self) -> list[str]:
        with self._cond:
            return list(self._latest)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            if self._running is not None:
                self._running.interruption.stop()
            self.idle.set()  # nothing waits for a stopped scheduler
            self._cond.notify()

    def _next(self) -> Job | None:
        """The job whose debounce ran out first (waits for it); None when stopped."""
        with self._cond:
            while not self._stopped:
                if self._pending:
                    job = min(self._pending.values(), key=lambda j: j.due)
                    wait = job.due - self._clock()
                    if wait <= 0:
                        del self._pending[job.uri]
                        self._running = job
                        return job
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _run(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            try:
                self._lint(job)
            finally:
                with self._cond:
                    self._running = None
                    self._update_idle()

    def _lint(self, job: Job) -> None:
        if not self.is_current(job.uri, job.version):
            return
        try:
            with job.interruption.applied():
                result = self._work(job)
        except Interrupted:  # a newer text arrived: it is linted next, this one is dropped
            return
        except Exception as exc:  # a crash is delivered as the result: the worker lives on
            result = exc
        if self.is_current(job.uri, job.version) and not job.interruption.stopped:
            self._deliver(job, result)
