"""Checking one file under a guard, so that one pathological file is that
file's error and never the run's.

LibCST's native parser and its tree operations (visitors, code generation)
recurse once per nesting level: deep but valid code (a long chain of method
calls, a long ``+`` chain, hundreds of implicitly concatenated string parts)
overflows the default stack, and deeper code overflows the C stack of the
native parser and kills the process. So the work runs in a thread with a
large stack and a raised recursion limit, after CPython's own parser has
accepted the file (it refuses what no Python runs, such as 200 nested
brackets) and the tree's depth is within a limit; and under a time budget.
"""
from __future__ import annotations

import ast
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

STACK_BYTES = 512 * 1024 * 1024  # reserved address space, committed only as used
RECURSION_LIMIT = 12_000  # Python frames: LibCST needs 2-4 per nesting level
MAX_DEPTH = 1_000  # nesting levels of CPython's tree a file may have
TIME_BUDGET_S = 60.0  # for one file's parse, model, rules and fixes
GIVE_WAY_S = 1.0  # the longest a guarded check of a thread giving way waits to start
#: address space a worker process may use (the check thread's stack reservation
#: included): a file whose tree and model outgrow it is that file's error
MEMORY_BUDGET_BYTES = 4 * 1024 * 1024 * 1024

_LOCK = threading.Lock()
_raised = 0  # guarded threads running: the recursion limit is raised while any is
_saved_limit = 0


class TooComplex(Exception):
    """A valid file beyond what scalelint can analyse; the message says why."""


class OverBudget(BaseException):
    """Raised inside the guarded thread when its time is up (a BaseException,
    so that no ``except Exception`` of a rule or the model swallows it)."""


class Interrupted(BaseException):
    """Raised out of run_guarded when the caller's Interruption was stopped
    (a BaseException for the same reason as OverBudget)."""


class Interruption:
    """Stops, from another thread, the guarded checks run by the thread that
    applied it (``with interruption.applied(): ...``): ``stop()`` interrupts
    the check in flight the way the time budget does, a check started later
    stops at once, and ``check()`` is a checkpoint between the caller's steps."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = False
        self._worker: threading.Thread | None = None  # the guarded thread running now

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        with self._lock:
            if not self._stopped and self._worker is not None:  # one interruption per thread
                _interrupt(self._worker, Interrupted)
            self._stopped = True

    def check(self) -> None:
        """Raise Interrupted once stopped."""
        if self._stopped:
            raise Interrupted

    @contextmanager
    def applied(self) -> Iterator["Interruption"]:
        previous = getattr(_caller, "interruption", None)
        _caller.interruption = self
        try:
            yield self
        finally:
            _caller.interruption = previous

    def _watch(self, worker: threading.Thread | None) -> None:
        """Called by the guarded thread itself, at its start (itself) and end (None)."""
        with self._lock:
            if worker is not None and self._stopped:
                raise Interrupted
            self._worker = worker


_caller = threading.local()  # .interruption: the Interruption applied by this thread


def _applied_interruption() -> Interruption | None:
    return getattr(_caller, "interruption", None)


@contextmanager
def giving_way(ready: threading.Event) -> Iterator[None]:
    """Make each guarded check this thread runs wait, before it starts, until
    ``ready`` is set: a background job (the language server's project
    warm-up) leaving the CPU and the GIL to more urgent work between files.
    The wait is outside the checks' time budget, and at most GIVE_WAY_S per
    check: work that never pauses slows the job down, never stops it (nor
    deadlocks it on a lock the job holds)."""
    previous = getattr(_caller, "ready", None)
    _caller.ready = ready
    try:
        yield
    finally:
        _caller.ready = previous


def checkpoint() -> None:
    """Wait while the thread gives way (``giving_way``), then raise
    Interrupted when the Interruption this thread applied is stopped (a
    caller's check between its own steps; a no-op when neither is applied)."""
    ready = getattr(_caller, "ready", None)
    if ready is not None:
        ready.wait(GIVE_WAY_S)
    interruption = _applied_interruption()
    if interruption is not None:
        interruption.check()


@dataclass(frozen=True)
class Limits:
    max_depth: int = MAX_DEPTH
    time_budget_s: float = TIME_BUDGET_S


def deeper_than(tree: ast.AST, limit: int) -> bool:
    """Whether CPython's tree nests deeper than ``limit`` levels. Iterative (it
    may be deep), and it skips every one-line node too short to hold that
    many levels (each level takes a character or more), which is nearly all
    of them: the cost is in the order of the statements, not the nodes."""
    stack = [(tree, 1)]
    children = ast.iter_child_nodes
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        end = getattr(node, "end_col_offset", None)
        if end is not None and node.end_lineno == node.lineno and depth + end - node.col_offset + _CTX_LEVELS <= limit:  # type: ignore[attr-defined]
            continue
        depth += 1
        stack.extend((child, depth) for child in children(node))
    return False


_CTX_LEVELS = 2  # a one-character node may still have a child (a Name's Load context)


def cpython_tree(text: str, path: str, limits: Limits) -> ast.Module:
    """CPython's tree of the file, first: it refuses what no interpreter runs,
    and its depth bounds LibCST's. Raises SyntaxError or TooComplex."""
    try:
        tree = compile(text, path, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (RecursionError, MemoryError) as exc:
        raise TooComplex(parser_gave_up(exc)) from None
    if deeper_than(tree, limits.max_depth):
        raise TooComplex(f"skipped: too complex (nested more than {limits.max_depth} levels deep)")
    return tree


def compiles(text: str, path: str) -> bool:
    """Whether CPython compiles the file to bytecode: its tree parses, and
    its compiler accepts it too (``return`` or ``break`` outside their
    blocks, a repeated parameter name are refused only there)."""
    try:
        compile(text, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def run_guarded(func: Callable[[], T], budget_s: float = TIME_BUDGET_S) -> T:
    """``func()`` in a thread with a large stack, stopped with TooComplex when
    it runs longer than ``budget_s`` seconds, or with Interrupted when the
    Interruption this thread applied is stopped; its exceptions are re-raised here."""
    outcome: dict[str, object] = {}
    stopped = threading.Event()
    checkpoint()
    interruption = _applied_interruption()

    def target() -> None:
        try:
            try:
                if interruption is not None:
                    interruption._watch(threading.current_thread())
                outcome["value"] = func()
            finally:
                if interruption is not None:
                    interruption._watch(None)  # no interruption lands once the thread is done
        except BaseException as exc:  # handed to the caller's thread
            # OverBudget or Interrupted, or what it became where it landed
            # (CPython's AST constructor turns it into a SystemError, say)
            over = isinstance(exc, OverBudget) or stopped.is_set()
            if interruption is not None and interruption.stopped:
                outcome["error"] = Interrupted()
            elif over:
                outcome["error"] = TooComplex(f"skipped: too complex (not done after {budget_s:g} s)")
            elif isinstance(exc, MemoryError):
                outcome["error"] = TooComplex("skipped: too complex (over the memory budget of a worker)")
            else:
                outcome["error"] = exc

    _raise_recursion_limit()
    try:
        with _LOCK:
            previous = threading.stack_size(STACK_BYTES)
            try:
                worker = threading.Thread(target=target, name="scalelint-check", daemon=True)
                worker.start()
            finally:
                threading.stack_size(previous)
        worker.join(budget_s)
        if worker.is_alive():
            stopped.set()
            _interrupt(worker)
            worker.join()
    finally:
        _restore_recursion_limit()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def apply_memory_budget(limit: int = MEMORY_BUDGET_BYTES) -> None:
    """Cap this process's address space (a worker's: the main process keeps
    its own), so one huge file raises MemoryError in its check, reported as
    that file's error, instead of taking the machine or the run down."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft == resource.RLIM_INFINITY or soft > limit:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        except (ValueError, OSError):
            pass  # the platform refuses: the time budget still holds


def _raise_recursion_limit() -> None:
    """The limit is per interpreter: raised only while a guarded thread runs,
    so that other threads (on the default 8 MB stack) keep the default."""
    global _raised, _saved_limit
    with _LOCK:
        if _raised == 0:
            _saved_limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_saved_limit, RECURSION_LIMIT))
        _raised += 1


def _restore_recursion_limit() -> None:
    global _raised
    with _LOCK:
        _raised -= 1
        if _raised == 0:
            sys.setrecursionlimit(_saved_limit)


def parser_gave_up(exc: BaseException) -> str:
    """The file's error when CPython's parser runs out of stack or memory."""
    return f"skipped: too complex (CPython's parser gave up: {str(exc) or type(exc).__name__})"


def _interrupt(worker: threading.Thread, error: type[BaseException] = OverBudget) -> None:
    """Raise ``error`` in the worker at its next bytecode (native code, such
    as LibCST's parser, finishes first)."""
    assert worker.ident is not None
    import ctypes  # only to stop a check: most runs never need it

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(error))
