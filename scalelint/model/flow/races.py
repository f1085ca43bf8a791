"""What a check-then-act race is made of: the kind of check, the kind of write it
decides, and whether the write consumes what was checked.

A check whose write changes the value checked (``stock >= qty`` then ``stock -=
qty``, a state moved on, a count compared with a capacity before adding a row)
loses an update or oversells when two callers pass it together. A lookup before
inserting the key it looked up (``if not exists(): create()``) can only add a
duplicate row: whether that matters depends on the row. The rules ask
:func:`race_shape` and decide how strong the evidence is from its answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from scalelint.model import dbops
from scalelint.model.entrypoints import VIEW
from scalelint.model.flow.dataflow import EXISTS, VALUE, counted

if TYPE_CHECKING:
    from scalelint.model.flow.dataflow import FunctionFlow
    from scalelint.model.flow.flowgraph import Reach
    from scalelint.model.ormmodels import ModelIndex

#: check kinds
THRESHOLD = "threshold"  # a value or total compared with < <= > >= (balance >= amount, count() >= capacity)
STATE = "state"  # a value compared for equality or truth (status == "open"), then written back
EXISTENCE = "existence"  # a lookup: exists(), first() is None, get() + DoesNotExist, count() >= 1

#: write kinds
UPDATE = "update"  # the checked row written back
DEPENDENT_INSERT = "dependent-insert"  # a row added to the total the check compared
KEY_INSERT = "key-insert"  # the row the lookup looked for, inserted


@dataclass(frozen=True)
class RaceShape:
    """One check and the write it decides."""

    check: str
    write: str
    #: the unique constraint covering the fields looked up (empty: none known)
    unique: frozenset[str] = frozenset()
    #: inserting the row runs a save() the project overrides (side effects repeat)
    save_runs_code: bool = False

    @property
    def consumes(self) -> bool:
        """The write changes what the check read: a balance, a stock, a state, the
        rows a total counts. Two callers passing the check together lose an update
        or exceed the limit."""
        return self.check != EXISTENCE

    def duplicate_in_request(self, fn: "FunctionFlow") -> bool:
        """A lookup before inserting its key, in a request handler, with no unique
        constraint to stop the second insert and a save() that runs project code:
        a double submit adds the row twice and repeats what its save does (a
        broadcast, a notification)."""
        return (self.check == EXISTENCE and self.write == KEY_INSERT and fn.role == VIEW
                and not self.unique and self.save_runs_code)


def race_shape(reach: "Reach", models: "ModelIndex") -> RaceShape:
    """The shape of a racy check (one the rule decided to report) and its write."""
    write = reach.write
    entity = reach.origin.entity or ""
    if duplicate_lookup(reach):
        return RaceShape(EXISTENCE, KEY_INSERT, unique_covering(reach, models), models.save_runs_code(entity))
    if write.verb == "insert":
        if reach.cond is not None and reach.cond.presence:
            # ``if qs.count() >= 1: ... else: create()``: a lookup spelled as a count
            return RaceShape(EXISTENCE, KEY_INSERT, unique_covering(reach, models), models.save_runs_code(entity))
        return RaceShape(THRESHOLD, DEPENDENT_INSERT)
    ordered = reach.cond is not None and reach.cond.orders and reach.shape == VALUE
    return RaceShape(THRESHOLD if ordered else STATE, UPDATE)


def duplicate_lookup(reach: "Reach") -> bool:
    """Whether a row was looked up (not by primary key, not through one of its fields)
    to decide inserting a row of the same entity: the duplicate-insert race. A lookup
    comparing constants only (``filter(name="site")``) finds the same singleton row for
    every caller: it can race once in the database's life, on its first creation."""
    return (
        reach.shape == EXISTS and reach.write.verb == "insert" and not reach.origin.keyed
        and not reach.origin.constant
        and reach.label.field is None and reach.origin.entity == reach.write.entity
    )


def unique_covering(reach: "Reach", models: "ModelIndex") -> frozenset[str]:
    """The unique constraint covering the fields a lookup before an insert compares
    (empty when none is known)."""
    entity = reach.origin.entity
    if not (entity and reach.origin.lookup):
        return frozenset()
    checked = {f for f in reach.origin.lookup if not f.startswith((dbops.CONDITION_MARK, dbops.MANAGER_MARK))}
    conditions = {f for f in reach.origin.lookup if f.startswith(dbops.CONDITION_MARK)}
    for manager in (f[1:] for f in reach.origin.lookup if f.startswith(dbops.MANAGER_MARK)):
        conditions |= models.manager_conditions(entity, manager)
    for fields in models.unique_fields(entity):
        # a partial constraint (``condition=Q(deleted_at__isnull=True)``) covers a lookup
        # carrying the same condition, in its filters or through its manager's default filter
        plain = {f for f in fields if not f.startswith(dbops.CONDITION_MARK)}
        if plain and plain <= checked and fields - plain <= conditions:
            return frozenset(plain)
    return frozenset()


def aggregate_threshold(reach: "Reach", written_fields: set[str]) -> bool:
    """``if count() >= capacity: raise`` before an insert of the rows counted: both callers
    count the same total and both insert. The total is compared in the check, or compared
    in a helper whose verdict is checked while it also feeds the rows inserted (a summed
    reservation left over). A field of one row read (``log.author``, ``invite.role``) is
    no total: the new row cannot change it, so an insert after checking it is no race."""
    if not (counted(reach.label) or reach.origin.aggregate):
        return False
    if reach.cond is not None and reach.cond.orders:
        return True
    checked = checked_column(reach)
    return checked is not None and checked.lower() in written_fields


def checked_column(reach: "Reach") -> str | None:
    """The column the check tests (the attribute read, else the column selected)."""
    field = reach.label.field
    if field and not dbops.is_identity(field) and not field.isdigit():
        return field
    return reach.origin.column
