"""Session inserts waiting for a flush.

``session.add(row)`` sends nothing: the INSERT runs at the next flush (``flush()``,
``commit()``, or the autoflush of a later query). So an ``except IntegrityError``
around that flush, not around ``add``, is what catches a unique violation of the
insert. One function's walk records each waiting insert with the branch it was
added in, and settles it at the next explicit flush: guarded when that flush sits
inside an IntegrityError handler on every path that added it, exposed otherwise (a
flush outside a handler, a query or call that may flush outside one, leaving the
function unflushed).
"""
from __future__ import annotations

from dataclasses import dataclass, field

Branch = tuple[tuple[str, int], ...]


@dataclass
class PendingInserts:
    """Waiting inserts of one function walk, and how each was flushed."""

    waiting: list[tuple[str, Branch]] = field(default_factory=list)
    guarded: set[str] = field(default_factory=set)
    exposed: set[str] = field(default_factory=set)

    def add(self, key: str, branch: Branch) -> None:
        """An insert queued in the session on ``branch``."""
        self.waiting.append((key, branch))

    def flush(self, guarded: bool, branch: Branch) -> None:
        """Something that may flush ran on ``branch`` (inside an IntegrityError handler or not)."""
        for key, added in self.waiting:
            # the flush follows the add on every path only if its branch is a prefix of the add's
            if guarded and added[:len(branch)] == branch:
                self.guarded.add(key)
            else:
                self.exposed.add(key)
        self.waiting.clear()

    def may_flush(self, guarded: bool) -> None:
        """A query, statement or call that may flush the session ran: outside a handler
        it exposes the waiting inserts; inside one they wait for an explicit flush."""
        if not guarded:
            self.leave()

    def leave(self) -> None:
        """The path ends (return, raise) with inserts unflushed: a caller flushes them, unguarded."""
        self.exposed.update(key for key, _ in self.waiting)
        self.waiting.clear()

    def settled(self) -> set[str]:
        """Inserts whose every flush was inside an IntegrityError handler."""
        self.leave()
        return self.guarded - self.exposed
