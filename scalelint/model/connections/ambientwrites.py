"""Writes through the request session across functions (SL103, project phase).

The request session (Flask-SQLAlchemy's ``db.session``, a module-level
``scoped_session``) is one per request: once something writes through it
(``db.session.add(x)``, ``flush()``, an UPDATE executed), its transaction holds
the written rows and their locks until something commits or rolls back.
Which function writes and which one then waits on the network are often not
the function that calls both: a handler calls ``create_editable()`` (which
flushes the INSERTs) and then ``notify_service()`` (which calls
``requests.put``). Each function's ambient events
(scalelint.model.connections.ambient) are run in order here: a callee's write
that it leaves uncommitted makes the transaction dirty (a function's own writes
are judged by its own walk, scalelint.model.connections.sessions, which sees
the session it names); a commit
(its own, or a callee that ends the session) cleans it; blocking I/O after a
write, its own or reached through a callee, is reported at the call. A callee
that ends the session itself is not reported (whether its commit comes before
its I/O is not known here).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from scalelint.model.connections.inherited import SessionFlow
from scalelint.model.connections.summaries import Step, render_chain

#: how deep a callee's uncommitted write is followed (the helper, its repository, the write)
MAX_WRITE_DEPTH = 4


@dataclass(frozen=True)
class WrittenIo:
    """Blocking I/O after a write through the request session, before a commit."""

    path: str
    spot: list[int]  # line, column, end line, end column of the call
    label: str  # how the call is spelled: "notify_service()"
    #: from the callee (its first step) down to the I/O; empty when the call itself blocks
    steps: list[Step]
    category: str
    write_line: int
    write: str  # "create_editable(), calls app.ops.create_editable() -> db.session.flush()"


class WrittenFlow:
    """The request session's uncommitted writes across the project's functions."""

    def __init__(self, flow: SessionFlow) -> None:
        self.flow = flow
        self._written: dict[tuple[str, str | None], list[Step] | None] = {}

    def written_io(self) -> Iterator[WrittenIo]:
        """Blocking I/O each function does, or reaches through a call, after it (or a callee)
        wrote through the request session and before anything committed."""
        for key in sorted(self.flow.fns):
            yield from self._walk(key, self.flow.own_class(key))

    def _walk(self, key: str, self_cls: str | None) -> Iterator[WrittenIo]:
        fn = self.flow.fns[key]
        where = {index: (arms, leaves) for index, arms, leaves in fn.arms}
        writes: list[_Write] = []  # uncommitted writes so far, in order
        for index, event in enumerate(fn.events):
            kind = event[0]
            arms, leaves = where.get(index, ([], -1))
            if kind == "e":
                writes = []
            elif _write_label(event) is not None:
                continue  # its own write: the function names the session, and its own walk judges it (sessions.py)
            elif kind == "i":
                if (write := _first_before(writes, arms)) is not None:
                    yield WrittenIo(fn.path, event[2], event[1], [], event[3], write.line, write.text)
            elif kind == "d":
                if (write := _first_before(writes, arms)) is not None and (
                        steps := self.flow.dispatched(event[1])) is not None:
                    head = Step(fn.path, event[2][0], event[3])
                    yield WrittenIo(fn.path, event[2], event[3], [head, *steps], steps[-1].category, write.line,
                                    write.text)
            elif kind in ("c", "s"):
                callee, callee_cls = self.flow.callee(event, self_cls)
                if callee is None:
                    continue
                if self.flow.ends_session(callee, callee_cls):
                    writes = []  # it commits (or rolls back) somewhere: nothing known to stay written
                    continue
                write = _first_before(writes, arms)
                if write is not None and (steps := self.flow.reaches(callee)) is not None:
                    yield WrittenIo(fn.path, event[2], event[3], steps, steps[-1].category, write.line, write.text)
                elif (chain := self._leaves_written(callee, callee_cls, 0)) is not None:
                    writes.append(_Write(event[2][0], f"{event[3]}, calls {render_chain(chain)}", arms, leaves))

    def _leaves_written(self, key: str, self_cls: str | None, depth: int) -> list[Step] | None:
        """The steps from a call of ``key`` down to a write through the request session
        that nothing commits before it returns (None: it leaves nothing written)."""
        memo = (key, self_cls)
        if memo in self._written:
            return self._written[memo]
        self._written[memo] = None  # while deciding (recursion)
        fn = self.flow.fns.get(key)
        found: list[Step] | None = None
        if fn is not None and depth <= MAX_WRITE_DEPTH:
            head = Step(fn.path, fn.line, f"{fn.module}.{fn.qualname}()")
            branched = {index for index, _, _ in fn.arms}
            conditional = False  # the write found so far is made in an ``if`` arm only
            for index, event in enumerate(fn.events):
                if event[0] == "e":
                    found = None
                elif (label := _write_label(event)) is not None:
                    if found is None or (conditional and index not in branched):
                        # name a write every call makes over one made in an ``if`` arm
                        found = [head, Step(fn.path, event[1][0], label)]
                        conditional = index in branched
                elif event[0] in ("c", "s") and found is None:
                    callee, callee_cls = self.flow.callee(event, self_cls)
                    if callee is not None and callee != key and (
                            deeper := self._leaves_written(callee, callee_cls, depth + 1)) is not None:
                        found = [head, *deeper]
                        conditional = index in branched
        self._written[memo] = found
        return found


@dataclass(frozen=True)
class _Write:
    """A write of the walk: where, what, and the ``if`` arms it ran in."""

    line: int
    text: str
    arms: list[list[int]]
    leaves: int  # the index in ``arms`` of the innermost arm that returns or raises after it (-1: none)


def _first_before(writes: list[_Write], arms: list[list[int]]) -> _Write | None:
    """The first write still in effect where an event in these arms runs: not in another
    arm of an ``if`` the event is in, nor in an arm that returned before the event."""
    for write in writes:
        if any(w_if == e_if and w_arm != e_arm for w_if, w_arm in write.arms for e_if, e_arm in arms):
            continue  # the other arm of an ``if`` the event is in: never both
        if write.leaves >= 0 and write.arms[write.leaves] not in arms:
            continue  # its arm returned (or raised): the event runs only when the write did not
        return write
    return None


def _write_label(event: list[Any]) -> str | None:
    """The write an ambient event makes, if any (``["w", spot, label]``, or a query
    event that writes: ``["q", spot, covered, label]``)."""
    if event[0] == "w":
        return event[2]
    if event[0] == "q" and len(event) > 3:
        return event[3]
    return None
