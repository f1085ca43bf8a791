"""Replica and race rules (SL2xx): stale replica reads that drive writes,
check-then-act races, and reading back a write from a replica.

All three ask the dataflow model (``scalelint.model.flow.dataflow``) and its graph
(``scalelint.model.flow.flowgraph``): in the file phase for flows inside one
module, in the project phase (from facts, without re-parsing) for flows that
cross modules through the project's own helpers.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator

import libcst as cst

from scalelint.core.findings import Confidence, Fix, FixSafety, Related
from scalelint.model import dbops
from scalelint.model.contexts import ONE_SHOT, REQUEST, SCHEDULED
from scalelint.model.flow.components import Component, components
from scalelint.model.flow.dataflow import EXISTS, ROW, VALUE, ModuleFlow
from scalelint.model.flow.races import (
    KEY_INSERT, RaceShape, aggregate_threshold, checked_column, duplicate_lookup, race_shape,
)
from scalelint.model.entrypoints import concurrent_runs
from scalelint.model.entities import entity_name
from scalelint.model.connections.lazyloads import manager_facts
from scalelint.model.ormmodels import ModelIndex, model_facts
from scalelint.model.flow.interpret import module_flow
from scalelint.model.flow.flowgraph import Graph, Reach, holds_by_default, local_graph
from scalelint.rule import ProjectRule

if TYPE_CHECKING:
    from scalelint.model.flow.dataflow import FunctionFlow, Origin
    from scalelint.model.module import ModuleModel
    from scalelint.project import ProjectIndex, ProjectReporter

#: words without which a file neither writes nor reads a replica (prefilter)
REPLICA_VOCABULARY = (
    "UPDATE", "INSERT", "DELETE", "update", "insert", "delete", "save", "create", "commit", "execute",
    "query", "replica", "REPLICA", "Replica", "reader", "Reader", "READER", "read_", "Read", "slave",
    "secondary", "follower", "standby", "readonly", "ro_", "using(", "merge(", "add(",
)


@dataclass
class _Finding:
    at: str  # record key to report at
    message: str
    keys: tuple[str, ...]  # every record involved (locality)
    fix: Callable[[], Fix | None] | None = None
    #: (record key, what it is) of the other places of the problem
    related: tuple[tuple[str, str], ...] = ()
    #: judged only in the project phase, where every model's constraints are known
    needs_project: bool = False
    #: a read of the module itself feeds the same spot: the file phase reports it there
    #: (one finding per write), so the project phase adds no second finding
    covered_locally: bool = False
    #: LOW when the code shows the race but not that it costs anything (see SL202)
    confidence: Confidence = Confidence.HIGH


#: the project findings of SL201-SL203, judged together from every file's dataflow
#: facts one component at a time (ProjectIndex.derived, see _project_findings)
FLOW_FINDINGS = "flow-findings"

class _FlowRule(ProjectRule):
    """Shared driver: file-phase findings from the module's own graph, project
    findings from the facts of every file, each reported once."""

    vocabulary = REPLICA_VOCABULARY
    facts_key = "replica-flow"  # one dataflow, published once for all three rules
    shared_structures = (FLOW_FINDINGS,)
    #: judge functions calling other modules only in the project phase, where a helper
    #: may turn out to take a lock (a finding on local evidence alone could be wrong)
    needs_callees: ClassVar[bool] = False
    #: the ORM models known in this phase: the module's own, then the project's
    models: ModelIndex = ModelIndex(())
    #: display path -> the entities of the models that file declares
    declared: dict[str, frozenset[str]] = {}

    def findings(self, graph: Graph, fn: "FunctionFlow") -> Iterator[_Finding]:
        raise NotImplementedError

    def revisit(self, graph: Graph, fn: "FunctionFlow") -> bool:
        """Whether a function whose flows stay in its module may still have a finding
        only the project phase can judge."""
        return False

    def check_module(self, module: "ModuleModel") -> None:
        flow = module_flow(self._ctx)
        graph = local_graph(flow)
        self.models = module.derived("orm-model-index", lambda: ModelIndex(model_facts(module), manager_facts(module)))
        self.declared = {flow.path: _entities(self.models)}
        for fn in flow.functions.values():
            if self.needs_callees and graph.calls_elsewhere(fn):
                continue
            for finding in self.findings(graph, fn):
                if finding.needs_project:
                    continue
                record = _record(flow, finding.at)
                fix = finding.fix() if finding.fix is not None else None
                related = [self.related(_record(flow, key).node, what) for key, what in finding.related]
                self.report(record.node, finding.message, fix=fix, related=related, confidence=finding.confidence)

    def collect_facts(self, module: "ModuleModel") -> Any:
        flow = module_flow(self._ctx)
        orm = {k: v for k, v in (("models", model_facts(module)), ("managers", manager_facts(module))) if v}
        if not (flow.origins or flow.writes or flow.sites):
            return orm or None
        return {**flow.to_json(), **orm}

    def check_project(self, index: "ProjectIndex", out: "ProjectReporter") -> None:
        for found in _project_findings(index, out.reported_paths)[self.code]:
            out.report(self, *found.where, found.message, related=found.related, confidence=found.confidence)

    def judge_project(self, graph: Graph, reported: set[str], placed: Callable[["FunctionFlow"], tuple[int, int]],
                      found: list["_ProjectFinding"]) -> None:
        """This rule's project findings among the functions of ``graph`` (one
        component of the project), each with its function's place in the
        whole project's graph so that they can be put in that order."""
        for fn in graph.functions.values():
            path = graph.path_of(fn)
            if path not in reported:
                continue  # a function's findings are reported in its own file
            deferred = self.needs_callees and graph.calls_elsewhere(fn)
            if not deferred and not graph.crosses(fn) and not self.revisit(graph, fn):
                continue
            for finding in self.findings(graph, fn):
                if not deferred and not finding.needs_project and (
                        finding.covered_locally or all(k.split("#", 1)[0] == path for k in finding.keys)):
                    continue  # reported by the file phase
                line, col, end_line, end_col = graph.spot(finding.at)
                related = tuple(_related(graph, key, what) for key, what in finding.related)
                found.append(_ProjectFinding(placed(fn), (finding.at.split("#", 1)[0], line, col, end_line, end_col),
                                             finding.message, related, finding.confidence))


class ReplicaReadFeedsWrite(_FlowRule):
    """
    ## What it does
    Finds values read from a read replica that flow into a write on the
    primary: as a value written (a parameter of the UPDATE, a field saved), or
    as the condition deciding whether the write happens (`if`, an early
    `return`/`raise`, a loop guard). The value is followed through
    assignments, unpacking, attribute and subscript reads, arithmetic,
    f-strings, returns and calls, including helpers in other modules of the
    project, and through parameters that pick the handle
    (`db.primary if consistent else db.replica`). One finding per write,
    reported at its most direct replica read (or the check that read decides):
    the other replica reads feeding or deciding the same write are listed as
    related locations.

    ## Why it matters at scale
    Replicas lag the primary by milliseconds to minutes, and the lag grows
    exactly when the system is busiest. A balance, a stock level or an order
    status read from a replica can already be out of date; when it decides a
    write, two requests act on the same stale value: double spends, oversold
    stock, orders processed twice. Identity-only flows (the row's id used to
    address the write) and reads that only feed responses, logs or exports
    are not reported.

    ## Example
    ```python
    from app import db

    def balance_of(user_id):
        return db.replica.query("SELECT balance FROM accounts WHERE user_id = %s", user_id)

    def withdraw(user_id, amount):
        if balance_of(user_id) >= amount:
            db.primary.execute(
                "UPDATE accounts SET balance = balance - %s WHERE user_id = %s", amount, user_id
            )
    ```

    ## Use instead
    ```python
    from app import db

    def withdraw(user_id, amount):
        updated = db.primary.execute(
            "UPDATE accounts SET balance = balance - %s WHERE user_id = %s AND balance >= %s",
            amount, user_id, amount,
        )
        if updated == 0:
            raise ValueError("insufficient funds")
    ```

    ## Fix safety
    Where the replica handle has a known primary counterpart in the same file
    (`db.replica` -> `db.primary` when `db.primary` is used there,
    `.using("replica")` -> `.using("default")`, a `..._REPLICA_...` setting ->
    its `..._DEFAULT_...`/`..._PRIMARY_...` sibling), an **unsafe** fix swaps
    the read to the primary. It moves load back to the primary and does not by
    itself remove the race (see SL202), so review it.

    ## Configuration
    `replica-handles` names project handles that read from a replica
    (`["app.db.ro_session"]`), `replica-aliases` Django database aliases
    (`["analytics"]`), `primary-handles` handles that are never replicas; with
    lists of equal length, `replica-handles[i]`'s counterpart for the fix is
    `primary-handles[i]`. Out of the box, names containing replica, reader,
    read_only/readonly, follower, secondary, standby, slave, or read/ro with a
    database word (`read_db`, `ReadSession`, `ro_conn`) are replicas when used
    as database handles. An engine, pool, connection or session factory built
    by a known constructor is a replica by what it is built from, whatever its
    name: a setting or URL host that says replica (`create_engine(REPLICA_URL)`,
    `postgresql://db-replica/app`), or `bind=` a replica engine; its
    `.connect()`, `.begin()` and sessions follow. `reader_engine =
    create_engine(DATABASE_URL)` is the primary. Sessions of SQLAlchemy's
    routing-session recipe (a `Session` whose `get_bind` picks the primary
    only while flushing or for write statements) read from a replica.
    """

    code = "SL201"
    contexts = frozenset({REQUEST, ONE_SHOT, SCHEDULED})
    name = "replica-read-feeds-write"
    summary = "a value read from a read replica decides or feeds a write on the primary"
    fix_safety = FixSafety.UNSAFE

    def findings(self, graph: Graph, fn: "FunctionFlow") -> Iterator[_Finding]:
        best: dict[str, tuple[tuple[Any, ...], Reach]] = {}
        for reach in graph.reaches(fn):
            if not reach.label.replica or not holds_by_default(reach.label, fn) or not _stale_hazard(reach):
                continue
            if reach.write.rechecks or reach.write.upsert or reach.write.unique_guarded:
                continue  # the database re-checks (or settles) the state it writes
            rank = (*graph.spot(reach.at)[:2], *_reach_preference(reach))
            current = best.get(reach.origin.key)
            if current is None or rank < current[0]:
                best[reach.origin.key] = (rank, reach)
        by_write: dict[str, list[Reach]] = {}
        for _, reach in sorted(best.values(), key=lambda item: item[0]):
            by_write.setdefault(reach.write.key, []).append(reach)
        for group in by_write.values():
            yield self._finding(graph, group)

    def _finding(self, graph: Graph, group: list[Reach]) -> _Finding:
        """One finding per write: the most direct read (or the check it decides) in
        the message, the other replica reads feeding or deciding it as related places."""
        reach = min(group, key=lambda r: (_reach_preference(r)[0], len(r.sites), graph.spot(r.origin.key)[:2],
                                          r.order()))
        origin, write = reach.origin, reach.write
        what = _value_name(origin, reach)
        source = f"{what} read from replica ({_where(graph, origin.key)})"
        sink = f"{write.what} ({_where(graph, write.key)})"
        via = f" via {reach.sites[0].name}()" if reach.sites else ""
        if reach.role == "ctl" and reach.write.relative and not reach.write.rechecks:
            message = (f"{source} decides {sink}{via}; replication lag makes it stale: read it from the primary, "
                       f"and guard the update in its WHERE (reading the primary alone leaves the check-then-act race)")
        elif reach.role == "ctl":
            message = f"{source} decides {sink}{via}; replication lag makes it stale: read it from the primary"
        elif reach.role == "subject" and reach.shape == ROW:
            message = f"{source} is saved back by {sink}{via}: stale fields overwrite newer ones; load it from the primary"
        else:
            message = f"{source} is written by {sink}{via}; replication lag makes it stale: read it from the primary"
        others = sorted((r for r in group if r is not reach), key=lambda r: (graph.spot(r.origin.key)[:2], r.order()))
        related = tuple((r.origin.key, f"{_value_name(r.origin, r)} read from replica feeds it too") for r in others)
        keys = tuple(dict.fromkeys([origin.key, write.key, *(s.key for s in reach.sites), *(k for k, _ in related)]))
        here = reach.at.split("#", 1)[0]
        covered = any(all(key.split("#", 1)[0] == here for key in (r.origin.key, r.write.key, *(s.key for s in r.sites)))
                      for r in group)
        return _Finding(reach.at, message, keys, lambda graph=graph, origin=origin: _swap_fix(graph, origin),
                        related=related, covered_locally=covered)


class CheckThenActWithoutLock(_FlowRule):
    """
    ## What it does
    Finds a value read from the database, checked in a condition, and a write
    of the same entity that depends on the check, with nothing making the pair
    atomic: no `SELECT ... FOR UPDATE` / `select_for_update()` /
    `with_for_update()`, no write that re-checks in the database
    (`UPDATE ... WHERE balance >= %s`, `filter(stock__gte=n).update(...)`,
    a version column), no upsert (`get_or_create`, `ON CONFLICT`) or
    `IntegrityError` handler. Reported are: a checked value written back
    (`product.stock -= qty` after `if product.stock >= qty`), a checked value
    followed by a relative update with no guard in its WHERE (`if balance >=
    amount:` then `SET balance = balance - %s WHERE id = %s` or
    `update(balance=F("balance") - x)`: both requests pass the check and both
    subtract; a relative update with no check before it is fine), an aggregate threshold before an insert
    (`count() >= capacity`), and a lookup before inserting the same entity
    (`if not ...exists(): create()`, `except DoesNotExist: create()`).
    The write must be able to conflict with what the check read: an insert
    races only with a lookup of the table it adds to (a duplicate) or with a
    total over the rows it adds (`count()`, `aggregate()`,
    `annotate(total=Sum("qty"))`, `SELECT COUNT(*)`/`SUM(...)`, compared in the
    check or in a helper whose verdict is checked); an update races with a
    value of the row it writes back. Checking a field of one row and then
    inserting a row (`if record.author is None: LogRecord(...).save()`, also
    of the same table) is not reported: the new row changes nothing checked.
    Writing a constant after a check (a flag, a timestamp) is idempotent and
    not reported, nor are functions that lock rows, or whose callers all do.
    A lookup whose filters compare constants only (`if not
    Site.objects.filter(name="main").exists(): create(...)`) guards a
    singleton: every caller checks the same row, so the insert can race only
    once in the database's life, on its first creation; it is not reported
    (a threshold on such a lookup, `count() >= LIMIT`, still is).
    Also settled: upserts (`bulk_create(update_conflicts=True)` or
    `ignore_conflicts=True`, `insert(...).on_conflict_do_nothing()`,
    `INSERT ... ON CONFLICT`), an `except IntegrityError` around the write or
    around the call of the helper that writes (for `session.add(row)`, around
    the `flush()` or `commit()` that sends its INSERT, with no query or call
    in between that may flush it first), and a lock taken by a context
    manager named for one (`with advisory_lock(key):`, `with cache.lock(...)`;
    a `threading.Lock` serialises one process only and does not count), in
    SQL (`LOCK TABLE`, `pg_advisory_xact_lock`), or by a lock helper: one
    named in `lock-helpers`, or a project function whose body takes a lock
    (`select_for_update()`, `cache.lock(key)`, `redis.lock(key)`, an advisory
    lock). Reads from a replica are SL201's.

    When a unique constraint covers the fields the lookup checks
    (`unique=True`, a primary key, a `OneToOneField`, `unique_together`,
    `UniqueConstraint(fields=...)`, `Column(unique=True)`,
    `UniqueConstraint(...)` in `__table_args__`, on a model anywhere in the
    project), the race cannot insert a duplicate: the second insert fails with
    `IntegrityError`. It stays a finding, since the error surfaces as a server
    error, and the message says to catch `IntegrityError` (an `except
    IntegrityError` around the insert settles it). A constraint on other
    fields (`unique=True` on `code` when the lookup checks `label`), one over
    a field the lookup does not check (a lookup by `hash` before inserting
    under `unique_together = ("hash", "option")`), or a partial constraint
    (`condition=`) the lookup does not carry gets the lock advice. A partial
    constraint whose condition is literal (`condition=Q(deleted_at__isnull=True)`,
    a soft delete) covers a lookup that carries the same condition, in its
    filters or through its manager, whose `get_queryset()` filters by it (a
    project soft-delete manager as the default `objects`).

    One finding per check, reported at the write (or at the call of the helper
    that writes), with the check and the reads it tests as related locations;
    when the check also decides other writes, the message and the related
    reads are those of the write reported at.
    The message says who races: concurrent requests in a view, concurrent task
    runs in a Celery/RQ/dramatiq task, concurrent callers elsewhere; after an
    aggregate threshold (`count() >= capacity`) it suggests a conditional
    insert or an advisory lock, since there is no row to lock.

    ## Why it matters at scale
    At low traffic the read and the write happen so close together that no
    other request gets in between; at high traffic two requests read the same
    value, both pass the check, and both write: a balance goes negative, the
    last seat is sold twice, a coupon is redeemed twice, a duplicate row
    appears. Reading from the primary fixes staleness, not this race.

    ## Example
    ```python
    from shop.models import Product

    def reserve(product_id, qty):
        product = Product.objects.get(pk=product_id)
        if product.stock >= qty:
            product.stock -= qty
            product.save()
    ```

    ## Use instead
    ```python
    from django.db import transaction
    from django.db.models import F

    from shop.models import Product

    def reserve(product_id, qty):
        updated = Product.objects.filter(pk=product_id, stock__gte=qty).update(stock=F("stock") - qty)
        return updated == 1

    def reserve_locked(product_id, qty):
        with transaction.atomic():
            product = Product.objects.select_for_update().get(pk=product_id)
            if product.stock >= qty:
                product.stock -= qty
                product.save()
    ```

    ## Fix safety
    No automatic fix: the atomic form depends on the intent (a conditional
    update, a row lock inside a transaction, a unique constraint).

    ## Configuration
    `lock-helpers` names the project's lock helpers that the body alone does
    not show (`lock-helpers = ["app.locks.acquire"]`, matched as spelled,
    qualified or by the last name): a function calling one is serialised.

    Reported at high confidence (the default `min-confidence`) when the write
    consumes or changes what the check read: a value or total compared with a
    threshold then written back or added to (a balance, a stock, seats, a
    quota, `count() >= capacity` before an insert), a state checked then moved
    on. Reported at low confidence (shown with `min-confidence = "low"` or
    `--min-confidence low`) when the check is a lookup before inserting the
    row it looked for (`exists()`, `first() is None`, `get()` with
    `DoesNotExist`, a count compared with 0 or 1 only): the race can only add
    a duplicate, which a unique constraint turns into an `IntegrityError` and
    which otherwise is often harmless or has a single writer (a per-item
    task). Such a lookup stays at high confidence when it runs in a request
    handler (a view), no unique constraint covers the fields it compares, and
    the inserted model overrides `save()` in its own body (one inherited
    from a base every model shares, setting audit fields, does not count): a
    double submit then stores the row twice and repeats what its save does (a
    broadcast, a notification, derived rows).
    """

    code = "SL202"
    name = "check-then-act-without-lock"
    summary = "a value is read, checked and acted on by a write with nothing making it atomic"
    needs_callees = True

    def findings(self, graph: Graph, fn: "FunctionFlow") -> Iterator[_Finding]:
        reaches = graph.reaches(fn)
        if graph.takes_locks(fn) or graph.called_under_lock(fn):
            return  # rows are locked here or by every caller: concurrency is handled on purpose
        written_back: dict[tuple[str, str], set[str]] = {}
        for r in reaches:
            if r.role in ("data", "subject") and r.shape == VALUE:
                written_back.setdefault((r.origin.key, r.write.key), set()).add((checked_column(r) or "").lower())
        by_check: dict[str, list[Reach]] = {}
        for reach in reaches:
            if _racy_check(reach, fn, written_back):
                by_check.setdefault(reach.at, []).append(reach)
        by_write: dict[str, list[tuple[str, list[Reach]]]] = {}
        for check, group in sorted(by_check.items(), key=lambda item: (graph.spot(item[0])[:2], item[0])):
            first = min(group, key=lambda r: (graph.spot(_write_at(r))[:2], r.write.key, r.order()))
            by_write.setdefault(_write_at(first), []).append((check, group))
        for at, checks in by_write.items():
            # a check may also reach other writes: the message names the write reported at
            own = [(check, [r for r in group if _write_at(r) == at]) for check, group in checks]
            yield self._finding(graph, fn, at, [(check, group) for check, group in own if group])

    def revisit(self, graph: Graph, fn: "FunctionFlow") -> bool:
        """An insert (here or in a helper it calls) may follow a lookup whose fields
        another module's model constrains."""
        return bool(fn.sites) or any((w := graph.write(k)) is not None and w.verb == "insert" for k in fn.writes)

    def _finding(self, graph: Graph, fn: "FunctionFlow", at: str, checks: list[tuple[str, list[Reach]]]) -> _Finding:
        """One finding at the write, its checks and reads as related places."""
        group = checks[0][1]
        reach = min(group, key=lambda r: (graph.spot(r.origin.key)[:2], r.origin.key, _value_name(r.origin, r),
                                          r.order()))
        origin, write = reach.origin, reach.write
        source = f"{_value_name(origin, reach)} read ({_where(graph, origin.key)})"
        via = f" via {reach.sites[0].name}()" if reach.sites else ""
        shape = race_shape(reach, self.models)
        constraint = shape.unique
        if constraint:
            message = (f"{write.what}{via} acts on {source} checked at {_where(graph, checks[0][0])}: "
                       f"{concurrent_runs(fn.role)} can pass the check together and the unique constraint on "
                       f"({', '.join(sorted(constraint))}) fails the second insert with IntegrityError; "
                       f"catch IntegrityError around the insert (or use get_or_create())")
        else:
            message = (f"{write.what}{via} acts on {source} checked at {_where(graph, checks[0][0])} with no lock: "
                       f"{concurrent_runs(fn.role)} can pass the check together; {_race_advice(reach, shape)}")
        related: list[tuple[str, str]] = []
        for check, reaches in checks:
            related.append((check, "the check"))
            for key in sorted({r.origin.key for r in reaches}, key=lambda k: (graph.spot(k)[:2], k)):
                related.append((key, f"the read of {graph.origin(key).spelled}"))
        if reach.sites:
            related.append((write.key, f"the write, inside {reach.sites[-1].name}()"))
        related = list(dict.fromkeys(related))
        keys = tuple(dict.fromkeys([at, *(k for k, _ in related), *(s.key for s in reach.sites)]))
        declared = self.declared.get(graph.path_of(fn), frozenset())
        needs_project = shape.write == KEY_INSERT and reach.origin.entity not in declared
        strong = shape.consumes or shape.duplicate_in_request(fn)
        return _Finding(at, message, keys, related=tuple(related), needs_project=needs_project,
                        confidence=Confidence.HIGH if strong else Confidence.LOW)


class ReplicaReadAfterWrite(_FlowRule):
    """
    ## What it does
    Finds a function that writes an entity on the primary and then reads the
    same entity from a read replica, itself or through a helper (also one in
    another module of the project).

    ## Why it matters at scale
    The replica receives the write only after the replication lag. Reading it
    back right away returns the old row (or none), so the response, the next
    decision or the cache entry built from it misses the write the same
    request just made. Under load the lag grows and these reads fail more
    often.

    ## Example
    ```python
    from shop.models import Order

    def mark_paid(order_id):
        Order.objects.filter(pk=order_id).update(status="paid")
        return Order.objects.using("replica").get(pk=order_id)
    ```

    ## Use instead
    ```python
    from shop.models import Order

    def mark_paid(order_id):
        Order.objects.filter(pk=order_id).update(status="paid")
        return Order.objects.get(pk=order_id)
    ```

    ## Fix safety
    No automatic fix.

    ## Configuration
    Uses the same `replica-handles`, `replica-aliases` and `primary-handles`
    settings as SL201.
    """

    code = "SL203"
    contexts = frozenset({REQUEST, ONE_SHOT, SCHEDULED})
    name = "replica-read-after-write"
    summary = "an entity written on the primary is read back from a replica"

    def findings(self, graph: Graph, fn: "FunctionFlow") -> Iterator[_Finding]:
        seen: set[str] = set()
        for hit in graph.reads_after_writes(fn):
            if hit.at in seen:
                continue
            seen.add(hit.at)
            via = f" via {hit.site.name}()" if hit.site is not None else ""
            message = (
                f"{hit.origin.spelled} read from replica ({_where(graph, hit.origin.key)}){via} right after "
                f"{hit.write.what} ({_where(graph, hit.write.key)}): the replica may not have the write yet; "
                f"read it from the primary"
            )
            keys = (hit.origin.key, hit.write.key, hit.at)
            yield _Finding(hit.at, message, keys)


# -- helpers ---------------------------------------------------------------------------------
def _stale_hazard(reach: Reach) -> bool:
    """Whether this flow carries state (not only identity) into the write."""
    if reach.role != "ctl" and _identifier_read(reach):
        return False
    if reach.role == "data":
        return reach.shape == VALUE
    if reach.role == "subject":
        return reach.shape == VALUE or (reach.shape == ROW and reach.write.verb == "save")
    if reach.shape == VALUE:
        return True
    return duplicate_lookup(reach)


def _racy_check(reach: Reach, fn: "FunctionFlow", written_back: dict[tuple[str, str], set[str]]) -> bool:
    """Whether this reach is a check of the function's own that a write of the same
    entity acts on, with nothing in the database settling the race."""
    origin, write = reach.origin, reach.write
    if reach.role != "ctl" or reach.cond is None or reach.label.replica or not holds_by_default(reach.label, fn):
        return False  # the check must be this function's own
    if origin.locked or origin.entity is None or origin.entity != write.entity:
        return False
    settled = write.rechecks or write.upsert or write.unique_guarded
    if write.relative and not settled and reach.shape == VALUE and reach.cond.orders:
        # a threshold checked in Python (balance >= amount), then ``SET x = x - n`` with no
        # guard in its WHERE: both requests pass, both subtract
        return True
    if write.atomic or write.verb == "delete" or any(site.unique_guarded for site in reach.sites):
        return False  # an upsert, a re-checking write, or an IntegrityError handler around it
    if reach.shape == VALUE:
        written = written_back.get((origin.key, write.key), set())
        if write.verb == "insert":
            # a new row conflicts with no field of a row read: only with a total over the rows it adds
            return aggregate_threshold(reach, written)
        if write.target not in (None, origin.key):
            return False  # it writes another row than the one checked
        return _dependent_write(reach, written)
    return duplicate_lookup(reach)


def _write_at(reach: Reach) -> str:
    """Where the function performs the write: its call of the helper writing, or the write."""
    return reach.sites[0].key if reach.sites else reach.write.key


def _race_advice(reach: Reach, shape: RaceShape) -> str:
    if reach.write.relative:
        return ("move the check into the update's WHERE (stock__gte=n, AND balance >= %s) and check the row "
                "count, or lock the row first")
    if shape.write == KEY_INSERT:
        return "use get_or_create()/an upsert on a unique field, or catch IntegrityError"
    if reach.write.verb == "insert" and reach.shape == VALUE:
        return ("make the insert conditional in one statement (INSERT ... SELECT ... WHERE the count is "
                "below the limit) or take an advisory lock on the parent")
    return "lock the row (select_for_update(), FOR UPDATE) or make the write re-check (UPDATE ... WHERE)"


def _identifier_read(reach: Reach) -> bool:
    """``SELECT id FROM ...``: the value read is an identifier, not state."""
    column = reach.origin.column
    return reach.label.field is None and column is not None and dbops.is_identity(column)


def _dependent_write(reach: Reach, written_fields: set[str]) -> bool:
    """An update that depends on the checked value: it writes back a value computed from
    the checked column (``stock - qty``). Writing a constant after a check (``if not
    user.is_active: user.is_active = True``, a ``last_used`` timestamp) is idempotent
    and not reported."""
    checked = checked_column(reach)
    return checked is not None and checked.lower() in written_fields


def _value_name(origin: "Origin", reach: Reach) -> str:
    field = reach.label.field
    if reach.shape == EXISTS:
        return f"{origin.spelled} lookup"
    if field and not dbops.is_identity(field) and not field.isdigit():
        return field
    if origin.column:
        return origin.column
    return f"{origin.spelled} row"


def _where(graph: Graph, key: str) -> str:
    path = key.split("#", 1)[0]
    return f"{os.path.basename(path)}:{graph.spot(key)[0]}"


def _related(graph: Graph, key: str, what: str) -> Related:
    line, col, _, _ = graph.spot(key)
    return Related(key.split("#", 1)[0], line, col, what)


def _record(flow: ModuleFlow, key: str):
    record = flow.origins.get(key) or flow.writes.get(key) or flow.sites.get(key) or flow.conds.get(key)
    assert record is not None and record.node is not None, key
    return record


def _reach_preference(reach: Reach) -> tuple[Any, ...]:
    """Among reaches at one spot, the most specific story first (a stale row saved
    back, then a decision, then a copied value), then a stable order: reaches
    come from label sets, whose order changes with the hash seed."""
    if reach.role == "subject" and reach.shape == ROW:
        story = 0
    elif reach.role == "ctl":
        story = 1
    else:
        story = 2
    return (story, reach.write.key, *reach.order())


def _swap_fix(graph: Graph, origin: "Origin") -> Fix | None:
    """Read from the primary counterpart of the replica handle (file phase only)."""
    flow = graph.flow_of(origin.key)
    ctx = flow.ctx
    handle = flow.handles.get(origin.handle) if origin.handle else None
    if ctx is None or handle is None:
        return None
    node = handle.node
    if handle.alias and isinstance(node, cst.SimpleString):
        quote = node.quote
        new: cst.BaseExpression = cst.SimpleString(f"{quote}default{quote}")
    else:
        counterpart = dbops.primary_counterpart(handle.spelled, ctx.text, ctx.model.recognition)
        if counterpart is None:
            return None
        try:
            new = cst.parse_expression(counterpart)
        except cst.ParserSyntaxError:
            return None
    return ctx.replacement_fix(node, new, f"read from the primary ({cst.Module([]).code_for_node(new)})",
                               FixSafety.UNSAFE)


def _entities(models: ModelIndex) -> frozenset[str]:
    return frozenset(entity_name(c.name) for c in models.classes.values())


def _project_models(index: "ProjectIndex") -> ModelIndex:
    """Every model class the project's files published with their dataflow."""
    published = list(index.facts(_FlowRule.facts_name()))
    return ModelIndex((model for _, facts in published for model in facts.get("models", ())),
                      (manager for _, facts in published for manager in facts.get("managers", ())))


@dataclass(frozen=True)
class _ProjectFinding:
    place: tuple[int, int]  # (module, function) position of its function in the project's graph
    where: tuple[str, int, int, int, int]  # path, line, column, end line, end column
    message: str
    related: tuple[Related, ...]
    confidence: Confidence


def _project_findings(index: "ProjectIndex", reported: set[str]) -> dict[str, list[_ProjectFinding]]:
    """The project findings of the three rules, judged together one component of
    the project's dataflow at a time (scalelint.model.flow.components): a
    component's graph is built from its modules' facts, asked what SL201,
    SL202 then SL203 ask of it, and dropped before the next is built, so
    the project phase holds one component's records, not the whole
    project's. Each component's graph is asked the same questions in the same
    order as the whole project's graph would be (questions never leave a
    component), and each rule's findings are put in the order of their
    functions in the whole project's graph."""
    def judge() -> dict[str, list[_ProjectFinding]]:
        rules = [rule_cls() for rule_cls in RULES]
        models = _project_models(index)
        declared = {path: _entities(ModelIndex(facts.get("models", ())))
                    for path, facts in index.facts(_FlowRule.facts_name())}
        for rule in rules:
            rule.models, rule.declared = models, declared
        found: dict[str, list[_ProjectFinding]] = {rule.code: [] for rule in rules}
        name = _FlowRule.facts_name()
        for component in components((path, data) for path, data in index.published(name) if "functions" in data):
            graph, placed = _component_graph(index, component)
            for rule in rules:
                rule.judge_project(graph, reported, placed, found[rule.code])
            del graph, placed  # before the next component's graph is built
        for findings in found.values():
            findings.sort(key=lambda f: f.place)  # stable: a function's findings keep their order
        return found

    return index.derived(FLOW_FINDINGS, judge)


def _component_graph(index: "ProjectIndex", component: Component) -> tuple[Graph, Callable[["FunctionFlow"], tuple[int, int]]]:
    """The flow graph of one component of the project's dataflow (each file's
    flow kept between runs when the caller keeps them), and where each of its
    functions stands in the order of the whole project's graph: (the position
    of its module among the published ones, its position in this graph)."""
    name = _FlowRule.facts_name()
    files = index.reading(name)
    flows = []
    for path in component.paths:
        data = files[path].peek(name)
        flows.append(index.per_file("module-flow", path, lambda path=path, data=data: ModuleFlow.from_json(path, data)))
    graph = Graph(flows)
    order = dict(zip(component.paths, component.positions))
    within = {key: (order[graph.owner[key].path], at) for at, key in enumerate(graph.functions)}
    return graph, lambda fn: within[fn.key]


RULES = [ReplicaReadFeedsWrite, CheckThenActWithoutLock, ReplicaReadAfterWrite]
