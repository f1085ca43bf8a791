"""Lints off the message loop: one worker thread, changes debounced, only
the latest version of a document linted, and a result published only while
its version is still the document's latest."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class Job:
    uri: str
    version: int
    text: str
    due: float  # time.monotonic() at which the lint may start


class LintScheduler:
    """``submit`` records the newest text of a document; the worker lints it
    once no newer text arrived for the debounce delay. ``work(job)`` lints and
    returns a result (an exception it raised is the result); ``deliver(job, result)`` is called only when ``job`` is
    still the document's latest version (an old version is never delivered)."""

    def __init__(self, work: Callable[[Job], object], deliver: Callable[[Job, object], None]) -> None:
        self._work, self._deliver = work, deliver
        self._pending: dict[str, Job] = {}
        self._latest: dict[str, int] = {}
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="scalelint-lint", daemon=True)
        self._thread.start()

    def submit(self, uri: str, version: int, text: str, delay: float = 0.0) -> None:
        with self._cond:
            self._latest[uri] = version
            self._pending[uri] = Job(uri, version, text, time.monotonic() + delay)
            self._cond.notify()

    def forget(self, uri: str) -> None:
        """The document closed: nothing of it is linted or delivered any more."""
        with self._cond:
            self._latest.pop(uri, None)
            self._pending.pop(uri, None)

    def is_current(self, uri: str, version: int) -> bool:
        with self._cond:
            return self._latest.get(uri) == version

    def open_documents(self) -> list[str]:
        with self._cond:
            return list(self._latest)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _next(self) -> Job | None:
        """The job whose debounce ran out first (waits for it); None when stopped."""
        with self._cond:
            while not self._stopped:
                if self._pending:
                    job = min(self._pending.values(), key=lambda j: j.due)
                    wait = job.due - time.monotonic()
                    if wait <= 0:
                        del self._pending[job.uri]
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
            if not self.is_current(job.uri, job.version):
                continue
            try:
                result = self._work(job)
            except Exception as exc:  # a crash is delivered as the result: the worker lives on
                result = exc
            if self.is_current(job.uri, job.version):
                self._deliver(job, result)
