"""Checking files in parallel: a process pool sized to the cores, fed in
chunks as files are read, or this process for small runs. Workers receive
text and return small serialisable results (findings, fixes as text edits,
facts); the checker is built once per process."""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

from scalelint.core.findings import FileError, FileResult

if TYPE_CHECKING:
    from scalelint.engine.checker import Checker

K = TypeVar("K")  # what the caller knows a job by

IN_PROCESS_LIMIT = 12  # below this many files to parse, a process pool costs more than it saves

#: display path, text, module name, ignored codes, code context by path, whether config pinned it
Job = tuple[str, str, str, frozenset[str], str, bool]

_CHECKER: "Checker | None" = None
WORKER_DIED = "skipped: the process checking it died (out of memory, or a crash); the other files were checked"


def init_worker(checker: "Checker") -> None:
    from scalelint.engine.guard import apply_memory_budget

    global _CHECKER
    _CHECKER = checker
    apply_memory_budget()
    tune_gc()


def tune_gc() -> None:
    """Parsing allocates millions of small objects and frees them by reference
    counting (trees have no cycles; the model's memos are released per file),
    so the cyclic collector's default cadence, every 700 allocations, is mostly
    wasted: rarer collections make checking about a fifth faster. Objects alive
    now (modules, rules, the catalog) are frozen out of every collection."""
    import gc

    global _GC_TUNED
    if not _GC_TUNED:  # once per process: a long-lived caller keeps collecting what it frees later
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        _GC_TUNED = True


_GC_TUNED = False


def _check_job(job: Job) -> FileResult:
    assert _CHECKER is not None
    return check_with(_CHECKER, job)


def check_with(checker: "Checker", job: Job) -> FileResult:
    display, text, module_name, ignored, context, pinned = job
    return checker.check(display, text, module_name=module_name, ignored=ignored, context=context, pinned=pinned)


def worker_count(files: int, jobs: int | None) -> int:
    """Processes for a run of ``files`` files: ``jobs`` (0 or None: one per
    core), never more than the files, and one below IN_PROCESS_LIMIT."""
    wanted = jobs if jobs and jobs > 0 else (os.cpu_count() or 1)
    if files < IN_PROCESS_LIMIT:
        return 1
    return max(1, min(wanted, files))


class Batch(Generic[K]):
    """Files to check, dispatched as they come: to a process pool in chunks
    once enough of them are waiting (so workers start while the main process
    is still reading), or in this process when the run is small. Each result
    goes to ``done`` with the key its job was added under."""

    CHUNK = 8

    def __init__(self, checker: Callable[[], "Checker"], workers: int, done: Callable[[K, FileResult], None]) -> None:
        self.checker = checker  # built on first use: a run answered by the cache never imports LibCST
        self.workers = workers
        self.done = done
        self.waiting: list[tuple[K, Job]] = []
        self.sent: list[tuple[list[tuple[K, Job]], Any]] = []
        self.pool: Any = None

    def add(self, key: K, job: Job) -> None:
        self.waiting.append((key, job))
        if self.workers > 1 and len(self.waiting) >= max(self.CHUNK, IN_PROCESS_LIMIT if self.pool is None else 0):
            self._send()

    def _send(self) -> None:
        if self.pool is None:
            from concurrent.futures import ProcessPoolExecutor  # only when it pays off

            self.pool = self._new_pool(self.workers)
        for start in range(0, len(self.waiting), self.CHUNK):
            chunk = self.waiting[start:start + self.CHUNK]
            self.sent.append((chunk, self.pool.submit(_check_jobs, [job for _, job in chunk])))
        self.waiting = []

    def _new_pool(self, workers: int) -> Any:
        from concurrent.futures import ProcessPoolExecutor  # only when it pays off

        return ProcessPoolExecutor(workers, mp_context=_mp_context(), initializer=init_worker, initargs=(self.checker(),))

    def finish(self) -> None:
        if self.pool is None:
            if self.waiting:  # this process: its own checker, not the workers' global (threads may share a process)
                tune_gc()
                checker = self.checker()
                for key, job in self.waiting:
                    self.done(key, check_with(checker, job))
            return
        from concurrent.futures.process import BrokenProcessPool

        self._send()
        lost: list[tuple[K, Job]] = []  # jobs of a pool a worker died in
        try:
            for chunk, future in self.sent:
                try:
                    results = future.result()
                except BrokenProcessPool:
                    lost.extend(chunk)
                    continue
                for (key, _), result in zip(chunk, results):
                    self.done(key, result)
        except BaseException:
            self.pool.shutdown(wait=False, cancel_futures=True)
            raise
        self.pool.shutdown(wait=not lost)
        self._check_alone(lost)

    def _check_alone(self, jobs: list[tuple[K, Job]]) -> None:
        """The jobs of a pool whose worker died (a crash, the OOM killer), each in
        a worker of its own, replaced whenever one dies: the file it was checking
        is reported, every other file is checked."""
        from concurrent.futures.process import BrokenProcessPool

        pool = None
        for key, job in jobs:
            pool = pool or self._new_pool(1)
            try:
                [result] = pool.submit(_check_jobs, [job]).result()
            except BrokenProcessPool:
                pool.shutdown(wait=False)
                pool = None
                result = FileResult(job[0], error=FileError(job[0], WORKER_DIED))
            self.done(key, result)
        if pool is not None:
            pool.shutdown()


def _check_jobs(jobs: list[Job]) -> list[FileResult]:
    return [_check_job(job) for job in jobs]


def _mp_context():
    import multiprocessing

    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")
