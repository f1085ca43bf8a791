"""Connection rules (SL1xx): how long code holds database connections."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import libcst as cst

from scalelint.core.findings import Confidence, Edit, Fix, FixSafety, Related
from scalelint.model import catalog
from scalelint.model.contexts import ONE_SHOT, REQUEST, SCHEDULED
from scalelint.model.function import FunctionModel, Hold, Stmt
from scalelint.model.connections.lazyloads import LazyLoad, lazy_loads, loop_records, manager_facts
from scalelint.model.connections.loopevidence import loop_evidence, round_helpers
from scalelint.model.connections.loops import LoopQuery, LoopScanner, render_chain
from scalelint.model.module import ModuleModel
from scalelint.model.spots import statement_locator
from scalelint.model.ormmodels import ModelIndex, model_facts
from scalelint.model.connections.timeline import BETWEEN, Timeline, WorkItem, following, reach_of, timeline_of
from scalelint.model.connections.work import FunctionWork, Transaction, call_label, work_of
from scalelint.model.connections.rowlocks import LockedWork, locked_work, row_lock, writes
from scalelint.model.connections import summaries
from scalelint.model.connections.inherited import HeldIo as FlowIo, SessionFlow
from scalelint.model.connections.ambientwrites import WrittenFlow, WrittenIo
from scalelint.model.connections.sessions import IoWhileHeld, SessionRef, SessionSpan, session_spans
from scalelint.model.connections.branches import equality_branches, exclusive
from scalelint.model.connections.guards import literal_kwargs
from scalelint.model.connections.summaries import call_target
from scalelint.model.connections.requesttx import ends_request_transaction, pyramid_tm_includes, pyramid_view
from scalelint.model.connections.writes import session_write
from scalelint.project import ProjectIndex, ProjectReporter
from scalelint.rule import ProjectRule, Rule
from scalelint.fix.imports import from_import
from scalelint.fix.scoping import close_with_transaction_fix, scope_hold_fix, try_finally_fix
from scalelint.fix.splitting import split_hold_fix
from scalelint.core.walk import dotted, string_value, walk
from scalelint.model.entrypoints import VIEW, entry_kind

#: words without which a file cannot acquire a connection (prefilter)
CONNECTION_VOCABULARY = (
    "connect", "cursor", "getconn", "acquire", "Session", "session", "_conn", "conn(",
)


class UnscopedConnection(Rule):
    """
    ## What it does
    Finds database connections, cursors and ORM sessions acquired into a local
    variable outside `with` or `try/finally`, so that an exception on any line
    before `close()` / `putconn()` leaks them, and ones never released at all.
    Also `with psycopg2.connect(...) as conn:` and `with sqlite3.connect(...)
    as conn:` as the only scope: those blocks commit or roll back, and the
    connection stays open.

    ## Why it matters at scale
    Under load, errors come in bursts: a timeout upstream makes hundreds of
    requests raise at once. Every request that raises between acquiring and
    closing leaves its connection checked out until garbage collection, and the
    pool drains exactly when the system is already struggling. The result is an
    outage that looks like a database problem but is a missing `with`.

    ## Example
    ```python
    import psycopg2

    def count_orders(dsn):
        conn = psycopg2.connect(dsn)
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM orders")
        total = cur.fetchone()[0]
        conn.close()
        return total
    ```

    ## Use instead
    ```python
    from contextlib import closing

    import psycopg2

    def count_orders(dsn):
        with closing(psycopg2.connect(dsn)) as conn:
            cur = conn.cursor()
            cur.execute("SELECT count(*) FROM orders")
            total = cur.fetchone()[0]
        return total
    ```

    ## Fix safety
    The fix turns the acquire/release pair into a `with` block around the same
    statements, spelled per library: `with psycopg2.connect(...)` and
    `with sqlite3.connect(...)` only end a transaction, so those get
    `contextlib.closing(...)` (the import is added or reused); psycopg 3,
    SQLAlchemy, PyMySQL and the other drivers whose context manager closes get a
    plain `with`; a psycopg_pool `getconn()`/`putconn()` pair becomes
    `with pool.connection()`. Connections with no context manager that
    releases them — a psycopg2 pool's `getconn()`/`putconn()`,
    `await asyncpg.connect(...)` / `await conn.close()` — keep their
    acquisition and get the statements after it in `try:` with the release in
    `finally:`. It is **safe** when the code already released the
    connection at the end of the same block: only the exception path changes.
    When the connection was never released, the fix (closing it after its last
    use) is **unsafe**, and so is a block that commits on exit where `close()` or
    `putconn()` rolled back (psycopg 3 connections, `pool.connection()`). No fix is offered when the connection escapes (returned,
    stored, captured), is released in some branches only, or when control flow
    (`return`, `break`) leaves the region. A `with psycopg2.connect(...) as
    conn:` block becomes `with closing(psycopg2.connect(...)) as conn, conn:`
    (**safe**: the same transaction scope, and the connection closed after it).

    ## Configuration
    `connection-factories` names project functions that return a new connection
    (e.g. `["app.db.connect_primary"]`), in addition to the built-in
    conventions (`get_db_connection()`, `get_conn()`, `db.connect()`,
    `pool.getconn()`). A handle from a helper named like `get_db()` that is
    never closed is not reported unless the helper is listed there: such
    helpers often hand out a shared or request-scoped handle (Flask keeps it on
    `g` and closes it at teardown). A connection whose cursor or result is
    returned belongs to the caller.

    Not reported either, because someone else owns the release: a handle
    scoped on the very next line (`s = Session()` then `with s:` or
    `with closing(s):`; a psycopg2 or sqlite3 `with conn:` only ends a
    transaction and does not count); a session bound to a connection that is
    already checked out (`Session(bind=conn)`, `bind=op.get_bind()`,
    `bind=session.connection()`, `join_transaction_mode=...`, or a
    `sessionmaker` bound that way), which takes no pooled connection of its
    own; a handle yielded by a dependency generator inside `try/finally` or
    `with` (FastAPI closes it after the request); and a handle from a
    function that also keeps it on an object such as Flask's `g` (the app
    context's teardown closes it).
    """

    code = "SL102"
    contexts = frozenset({REQUEST, ONE_SHOT, SCHEDULED})
    name = "unscoped-connection"
    summary = "connection or cursor released by hand (or never), leaking on exceptions"
    vocabulary = CONNECTION_VOCABULARY
    fix_safety = FixSafety.SAFE

    def check_function(self, fn: FunctionModel) -> None:
        local_conns = {h.var for h in fn.holds if not h.via_with and h.resource.kind == "connection"}
        for hold in fn.holds:
            if hold.via_with and self._with_only_ends_transaction(hold):
                self.report(hold.value, (
                    f"`with` on {hold.describe()} ends its transaction, not the connection: it stays open "
                    f"until garbage collection; close it too (`with closing(...) as {hold.var}, {hold.var}:`)"
                ), fix=self._close_fix(hold))
                continue
            if hold.via_with or hold.scoped or hold.escapes or hold.borrowed:
                continue
            if hold.resource.kind == "cursor" and not self._cursor_counts(hold, local_conns):
                continue
            released = bool(hold.releases)
            if not released and (hold.passed or hold.rebound or hold.resource.kind == "cursor" or self._shared_maybe(hold)):
                continue  # a callee may keep it; or nothing tells us who releases it
            if not released and reach_of(fn, hold, following(fn, hold)).escape is not None:
                continue  # a cursor or result made from it leaves: the caller owns the connection
            if released:
                last = max(r.stmt.ordinal for r in hold.refs if r.role == "release")
                line = self._ctx.line_of(next(s for s in hold.releases if s.ordinal == last).node)
                message = (
                    f"{hold.describe()} is released by hand at line {line}: an exception "
                    f"before that leaks it; use `with` or `try/finally`"
                )
                fix = scope_hold_fix(self._ctx, fn, hold, "scope it in a `with` block", FixSafety.SAFE) or try_finally_fix(
                    self._ctx, fn, hold, "release it in `try/finally`", FixSafety.SAFE
                )
            else:
                message = (
                    f"{hold.describe()} is never released: it stays checked out until "
                    f"garbage collection; use `with`"
                )
                fix = scope_hold_fix(
                    self._ctx, fn, hold, "close it after its last use with a `with` block", FixSafety.UNSAFE
                ) or try_finally_fix(self._ctx, fn, hold, "release it after its last use in `try/finally`", FixSafety.UNSAFE)
            self.report(hold.acquired.node, message, fix=fix)

    @staticmethod
    def _with_only_ends_transaction(hold: Hold) -> bool:
        """``with psycopg2.connect(...) as conn:`` (or sqlite3's): the block commits or
        rolls back, the connection stays open, and nothing else in the function closes it."""
        resource = hold.resource
        return (
            resource.kind == "connection" and resource.with_is_transaction and not resource.with_closes
            and isinstance(hold.value, cst.Call) and not hold.releases and not hold.escapes and not hold.passed
            and not hold.borrowed
        )

    def _close_fix(self, hold: Hold) -> Fix | None:
        stmt = hold.acquired.node
        if not isinstance(stmt, cst.With):
            return None
        item = next((i for i in stmt.items if i.item is hold.value), None)
        return close_with_transaction_fix(self._ctx, item, "close it too: `with closing(...) as conn, conn:`") if item else None

    def _shared_maybe(self, hold: Hold) -> bool:
        """An in-house helper known only by a name such as ``get_db()`` may hand out a
        cached or request-scoped handle that someone else closes (a factory named
        in `connection-factories` is known to return a fresh one)."""
        if hold.resource.library != "in-house":
            return False
        value = hold.value.expression if isinstance(hold.value, cst.Await) else hold.value
        func = value.func if isinstance(value, cst.Call) else None
        spelled = dotted(func) if func is not None else None
        if spelled is None or spelled.rsplit(".", 1)[-1] not in catalog.SHARED_HANDLE_FACTORY_NAMES:
            return False
        configured = self._ctx.model.recognition.connection_factories
        return not (self._ctx.model.qualified(func) in configured or spelled in configured)

    @staticmethod
    def _cursor_counts(hold: Hold, local_conns: set[str]) -> bool:
        """Cursors are reported only when closed by hand on a connection this
        function does not itself hold (else the connection is the finding)."""
        if hold.resource.library == "django" or not hold.releases:
            return False
        value = hold.value
        receiver = getattr(getattr(value, "func", None), "value", None)
        return not (receiver is not None and getattr(receiver, "value", None) in local_conns)


class ConnectionHeldAcrossWork(ProjectRule):
    """
    ## What it does
    Finds connections and ORM sessions kept checked out while the code does
    work that does not use them: network calls, rendering, validation or other
    business logic before the first query, between two queries, or after the
    last query inside a `with` block. It reports the acquisition and names the
    work and its lines.

    Sessions the function did not open count too: Flask-SQLAlchemy's
    `db.session` and `Model.query`, a module-level `scoped_session`, and a
    session parameter (annotated `Session` / `AsyncSession`, a FastAPI
    `Depends(get_db)`, an `Annotated[Session, Depends(...)]` alias). Such a
    session checks out a pooled connection at its first query (autobegin) and
    keeps it until `commit()` / `rollback()` / `close()` / `remove()` or the
    end of the request, so network calls, mail, sleeps and task enqueues after
    a query and before it lets go are reported at that query. For a parameter
    the message says the hold belongs to the caller's scope.

    Work behind the project's own helpers counts wherever they live: a call
    made while a session is held, into a function, a method of a module-level
    service instance (`stripe_service.create_customer()`) or a class of
    another module, is followed through the project's call graph to the
    blocking I/O at its end (`send_email()` -> `smtplib`), and the message
    shows that chain. A session parameter typed by an alias imported from
    another module (`session: SessionDep`) is a session when that module
    defines it as one (`SessionDep = Annotated[Session, Depends(get_db)]`,
    or a `NewType` over a session class). I/O after the session has written
    is SL103's (the transaction holds row locks), not reported here.

    The request session is followed across functions too: when a view's
    lookup (`service.get(id)`, `User.get_or_404(id)`, `Model.query...`) has
    checked out the connection and the view then calls a service in another
    module that does the network call, or a handler base class runs
    `self._process_args()` (which loads) before `self._process()` (which
    calls out), the I/O is reported where it happens, in the function one
    call below the query, and the message names the caller that holds the
    session: the hold belongs to that caller's scope. A method called on a
    plugin taken from a registry (`plugins.get(name).revoke_certificate()`)
    counts as the project's implementations of it when most classes defining
    it derive from one class; an HTTP session kept on the instance
    (`self.http = requests.Session()`) is network I/O.

    ## Why it matters at scale
    The time a connection is held, not the time its queries take, decides how
    many connections a service needs. A 20 ms query inside a 500 ms hold
    costs 25 times the pool capacity, and when the remote call slows down the
    pool runs dry for every other request.

    ## Example
    ```python
    import carrier_api
    from app.db import get_db_connection

    def ship(order_id):
        conn = get_db_connection()
        order = conn.query("SELECT * FROM orders WHERE id = %s", order_id)
        label = carrier_api.create_label(order)
        conn.execute("UPDATE orders SET label = %s WHERE id = %s", label, order_id)
        conn.close()
    ```

    ## Use instead
    ```python
    from contextlib import closing

    import carrier_api
    from app.db import get_db_connection

    def ship(order_id):
        with closing(get_db_connection()) as conn:
            order = conn.query("SELECT * FROM orders WHERE id = %s", order_id)
        label = carrier_api.create_label(order)
        with closing(get_db_connection()) as conn:
            conn.execute("UPDATE orders SET label = %s WHERE id = %s", label, order_id)
    ```

    ## Fix safety
    The fix splits the hold into scoped `with` blocks around the statements
    that use the connection, moves the acquisition down to the first use and
    ends each block after its last use, spelled per library
    (`contextlib.closing(...)` for psycopg2, sqlite3 and in-house factories,
    `pool.connection()` for psycopg_pool checkouts); a cursor created before a
    split is created again in the later block. It is **safe** when nothing
    before a split point wrote or locked without committing (no INSERT,
    UPDATE, DELETE or `FOR UPDATE` still open, no statement whose effect on
    the connection is unknown), since each block then sees the same data on a
    fresh connection; otherwise it is **unsafe**, because splitting ends the
    transaction early. No fix is offered for sessions (their objects are bound
    to the session, and one the function did not open is not its to end), when the connection escapes or is passed to a callee, is
    released in some branches only, when the work sits inside a loop that also
    uses the connection, or when a value bound to the connection (a result
    set) is used across a split.

    ## Configuration
    `connection-factories` names project functions that return a connection;
    `io-functions` names project callables that do blocking I/O (they count as
    work even when defined in another module). Not reported: tests and
    migration runners (they never hold connections under production load),
    scheduled jobs and the helpers only they call (one run at a time holds
    one connection: it cannot drain the pool; the `scheduled` context),
    private in-memory databases (`sqlite3.connect(":memory:")`), and helpers
    whose names say they only convert values (`version_to_tuple()`,
    `parse_date()`, `format_price()`).
    """

    code = "SL101"
    shared_structures = (summaries.CALL_GRAPH,)
    name = "connection-held-across-work"
    summary = "connection or session held while the code does unrelated work"
    vocabulary = (*CONNECTION_VOCABULARY, ".query")  # Flask-SQLAlchemy's ``Model.query``
    fix_safety = FixSafety.SAFE
    shared_facts = (summaries.FACTS_KEY,)
    contexts = frozenset({REQUEST})  # one scheduled run holds one connection: it cannot drain the pool

    def check_function(self, fn: FunctionModel) -> None:
        for hold in fn.holds:
            if hold.borrowed:
                continue  # the connection's owner holds it, not this session
            if work_of(fn).transaction_of(hold.acquired) is not None:
                continue  # inside an explicit transaction: SL103's domain
            line = timeline_of(fn, hold)
            if line is None or not line.work:
                continue
            self.report(self._anchor(hold), self._message(line), fix=split_hold_fix(self._ctx, fn, line))
        for span in session_spans(fn):
            if span.known:
                self.report(span.begin_call, self._session_message(span.ref, [self._item(w) for w in span.io]))

    def collect_facts(self, module: ModuleModel) -> Any:
        """Session holds this file cannot judge alone: calls into other modules'
        functions while held, a session known only by an imported type alias, or
        a write that may put part of the hold inside a transaction that wrote."""
        spans = [_span_facts(self._ctx, fn, span) for fn in module.functions for span in session_spans(fn) if not span.known]
        return {"spans": spans} if spans else None

    def check_project(self, index: ProjectIndex, out: ProjectReporter) -> None:
        graph = summaries.call_graph(index)
        for path, facts in index.facts(self.code):
            for span in facts["spans"]:
                if span["alias"] and graph.handle_kind(span["alias"]) != "session-type":
                    continue  # the imported annotation is not a session
                writes = _writes(span, graph)
                held = [item for item in _held_io(span, graph) if _dirty_at(writes, item) is None]
                if not held:
                    continue  # nothing, or only I/O after a write: SL103's
                ref = SessionRef(span["spelled"], span["library"], span["borrowed"])
                related = [item.related for item in held if item.related is not None]
                out.report(self, path, *span["at"], self._session_message(ref, [item.text for item in held]),
                           related=related[:3])
        elsewhere = frozenset(path for path, facts in index.files.items() if facts.get("__context__", REQUEST) != REQUEST)
        for item in SessionFlow(graph, elsewhere).held_io():
            out.report(self, item.path, *item.spot, self._flow_message(item), related=_flow_related(item))

    @staticmethod
    def _flow_message(item: FlowIo) -> str:
        origin = item.origin
        if origin.function == item.function:
            return (f"the request session checks out a connection at {origin.label} (line {origin.line}) and holds it "
                    f"across {item.text}, until commit/rollback/close or the end of the request; "
                    f"commit or close before the call")
        return (f"the request session is already holding a connection here: {origin.function.rpartition('.')[2]}() "
                f"checked it out at {origin.label} ({origin.path}:{origin.line}) and holds it across {item.text}; "
                f"the hold belongs to that caller's scope: commit or close there before this runs, or make the call "
                f"after the request's transaction")

    @staticmethod
    def _anchor(hold: Hold) -> cst.CSTNode:
        if hold.via_with and isinstance(hold.acquired.node, cst.With):
            for item in hold.acquired.node.items:
                if item.item is hold.value:
                    return item
        return hold.acquired.node

    def _message(self, line: Timeline) -> str:
        parts: list[str] = []
        for position in dict.fromkeys(w.position for w in line.work):
            items = [w for w in line.work if w.position == position]
            named = ", ".join(self._item(w) for w in items[:3])
            more = f" and {len(items) - 3} more" if len(items) > 3 else ""
            where = "between two queries" if position == BETWEEN and self._queries_around(line) else position
            parts.append(f"{named}{more} {where}")
        what = line.hold.describe()
        return f"{what} is held across {'; '.join(parts)}; hold it only around its uses"

    @staticmethod
    def _session_message(ref: SessionRef, items: list[str]) -> str:
        named = ", ".join(items[:3])
        more = f" and {len(items) - 3} more" if len(items) > 3 else ""
        held = (
            f"{ref.library} session '{ref.spelled}' checks out a connection at this query "
            f"and holds it across {named}{more}"
        )
        if ref.borrowed:
            return (
                f"{held}: the session is a parameter, so the hold belongs to the caller's scope; "
                f"end the transaction before the call there, or make the call after it"
            )
        return f"{held}, until commit/rollback/close or the end of the request; commit or close before the call"

    def _item(self, item: WorkItem | IoWhileHeld) -> str:
        info = item.info
        via = f", calls {' -> '.join(info.via)}" if info.via else ""
        return f"{info.label} (line {self._ctx.line_of(item.call)}{via})"

    @staticmethod
    def _queries_around(line: Timeline) -> bool:
        return len(line.uses) > 1


class BlockingIoInTransaction(ProjectRule):
    """
    ## What it does
    Finds network I/O, sleeps, task-queue enqueues, e-mail sends and
    subprocess calls made inside an explicit transaction:
    `transaction.atomic()` (block or decorator), `session.begin()`,
    `engine.begin()`, `conn.transaction()`, a psycopg2/sqlite3 `with conn:`
    block. `session.begin()` counts on any recognised session, also one passed
    in as a parameter or Flask-SQLAlchemy's `db.session`. A SQLAlchemy
    listener of a flush or mapper event (`@event.listens_for(Order,
    "after_insert")`, `before_flush`, `after_flush`, `before_commit`, or
    registered with `event.listen(...)`) runs inside the transaction too;
    `after_commit` listeners do not. Calls into the
    module's own helpers are followed two levels deep, and `.delay()` /
    `.apply_async()` of a task defined anywhere in the project is an enqueue. Where the project's
    Django settings set `"ATOMIC_REQUESTS": True` on a database, every Django
    view not marked `@transaction.non_atomic_requests` runs inside the request
    transaction, and I/O in it is reported too ("inside the request
    transaction, settings.py:N"). A class-based view whose `dispatch()` is
    marked (directly, with `method_decorator(...)`, or with
    `@method_decorator(transaction.non_atomic_requests, name="dispatch")` on
    the class) runs all its handlers in autocommit. In the request
    transaction only I/O after the view's first write or row lock
    (`save()`, `create()`, `update()`, `select_for_update()`) is reported:
    before it the transaction holds no rows, and the view's connection is
    Django's thread-bound one, held for the request either way.

    Pyramid is read the same way: where the app's configuration includes
    `pyramid_tm` (`config.include("pyramid_tm")`), every `@view_config` view
    runs in one transaction committed after it returns, and blocking I/O after
    the view's first write or row lock through the request's session
    (`request.dbsession.add(...)`, `request.db.flush()`, `with_for_update()`,
    or a project helper handed the session that writes through it) is
    reported ("inside the request transaction, config.py:N, pyramid_tm"),
    until the view ends the transaction itself (`request.tm.commit()`,
    `transaction.commit()`).

    A `transaction.atomic(using=...)` on a read replica alias (a literal or
    a setting named for one) is a read-only snapshot: nothing commits there,
    so I/O inside it is not reported. An enqueue (`.delay()`,
    `.apply_async()`) on a task the project defines is judged by the
    project's call graph: a task decorated only by the project's own
    dispatcher whose `delay`/`apply_async` does no blocking I/O (AWX's
    `pg_notify` on the request's connection, delivered at commit) is not a
    broker round trip; Celery, RQ and Dramatiq tasks are.

    A session the function did not open (a parameter, `db.session`, a
    FastAPI `SessionDep`) that has written — `session.add()` / `delete()` /
    `flush()`, an INSERT / UPDATE / DELETE executed, or a call into the
    project's code that does so through the session it is handed (a
    repository's `update()`, a helper taking the session; followed through
    the call graph, `super()` included) — keeps that transaction and its row
    locks until it commits or rolls back. Blocking I/O after the first such
    write and before the commit is reported here, naming the write ("inside
    the transaction that wrote at line N"), also when it happens in a project
    helper the session is handed to after the write (`await
    charge_customer(session, checkout)`, `async with customer_for(session,
    checkout)`: reported at the call); I/O before the write stays a
    plain hold (SL101). A helper that commits its own write leaves nothing
    held, and a write in a branch that returns or raises does not count
    after that branch.

    The request session a function reaches without naming it (Flask-SQLAlchemy's
    `db.session`, a module-level `scoped_session`) is followed across the
    project's calls the same way: after a helper wrote through it and left the
    write uncommitted (`create_editable()` flushes the INSERT), blocking I/O
    in the function or reached through a later call (`notify_service()`
    calling `requests.put`) is reported at that call ("inside the request
    session's transaction that wrote at line N"), until something commits
    (the function, or a callee that ends the session). A write in the other
    arm of an `if`, or in an arm that returned, does not count.

    ## Why it matters at scale
    A transaction keeps its connection and its row locks until it commits.
    Every second spent waiting on a remote service inside it is a second
    other requests wait on those locks, and a slow partner API turns into a
    database outage. Tasks enqueued inside a transaction can also run before
    the commit and not find the rows they were sent for.

    ## Example
    ```python
    import requests
    from django.db import transaction

    def pay(order):
        with transaction.atomic():
            order.status = "paid"
            order.save()
            requests.post("https://partner.example/paid", json={"id": order.id})
    ```

    ## Use instead
    ```python
    import requests
    from django.db import transaction

    def pay(order):
        with transaction.atomic():
            order.status = "paid"
            order.save()
            transaction.on_commit(
                lambda: requests.post("https://partner.example/paid", json={"id": order.id})
            )
    ```

    ## Fix safety
    Unsafe, for a Celery-style task enqueued as a statement of its own inside
    one Django `atomic` block (not a nested one, whose savepoint may roll back
    while the outer transaction commits): `task.delay(order.pk)` becomes
    `transaction.on_commit(lambda: task.delay(order.pk))`, offered only when no
    name the call uses is rebound later in the function (the lambda reads them
    at commit time, so none in a loop) and `django.db.transaction` is
    imported. It changes what
    happens on rollback — the task no longer runs — which is usually the
    intent. Other I/O has no fix: move it after the block.

    ## Configuration
    `io-functions` names project callables that do blocking I/O (for example
    `["app.partners.notify_partner"]`), so calls to them count even when they
    are defined in another module.
    """

    code = "SL103"
    shared_structures = (summaries.CALL_GRAPH,)
    name = "blocking-io-in-transaction"
    summary = "network I/O, sleeps or task enqueues inside an open transaction"
    #: ``request``, ``ATOMIC_REQUESTS`` and ``pyramid_tm``: views and the settings that wrap them in a transaction;
    #: ``session``: sessions that wrote before blocking I/O; ``listen``: SQLAlchemy flush listeners
    vocabulary = ("atomic", ".begin(", ".transaction(", "connect(", "getconn(", "ATOMIC_REQUESTS", "request", "session",
                  "listen", "pyramid_tm")
    fix_safety = FixSafety.UNSAFE
    shared_facts = (summaries.FACTS_KEY,)

    def check_function(self, fn: FunctionModel) -> None:
        for stmt, call, work, info, tx in _io_in_transactions(fn):
            if not info.task:  # else the project phase asks the call graph (_deferred_enqueues)
                message, fix = self._report_parts(fn, stmt, call, work, info, tx)
                self.report(call, message, fix=fix)

    def _report_parts(self, fn: FunctionModel, stmt: Stmt, call: cst.Call, work: FunctionWork, info: Any,
                      tx: Any) -> tuple[str, Fix | None]:
        """The message and fix of I/O inside an explicit transaction."""
        fix = self._on_commit_fix(fn, stmt, call, work) if info.category == "queue" and tx.library == "django" else None
        return self._message(info.describe(), info.category, tx.label, self._ctx.line_of(tx.node), _after(tx)), fix

    def _deferred_enqueues(self, fn: FunctionModel) -> Iterator[list[Any]]:
        """Enqueues on a task the project defines, inside an explicit transaction: a
        broker round trip unless the call graph shows the project's own dispatcher."""
        for stmt, call, work, info, tx in _io_in_transactions(fn):
            if info.task:
                message, fix = self._report_parts(fn, stmt, call, work, info, tx)
                yield [info.task, *_spot(self._ctx, call, stmt), message, fix.to_json() if fix is not None else None]

    def collect_facts(self, module: ModuleModel) -> Any:
        """Where settings turn on ATOMIC_REQUESTS, and the I/O calls of Django views
        that would run inside that request transaction (reported in the project phase)."""
        atomic = [list(self._ctx.location(node)[:2]) for node in _atomic_requests_settings(module, self._ctx.text)]
        views: list[list[Any]] = []
        view_calls: list[list[Any]] = []
        if any(q.split(".")[0] == "django" for q in module.imports.names.values()):
            for fn in module.functions:
                if entry_kind(fn) != VIEW or _non_atomic(fn):
                    continue
                work = work_of(fn)
                wrote: list[Any] = []  # [line, "order.save()"]: the view's first write or row lock
                for stmt, call in fn.calls():
                    if not wrote and (row_lock(call) or writes(call)):
                        wrote = [self._ctx.line_of(call, within=stmt.node), call_label(call),
                                 "locked rows" if row_lock(call) else "wrote"]
                    if not wrote or work.transaction_of(stmt) is not None:
                        continue  # nothing written yet (no locks held), or an explicit transaction (file phase)
                    info = work.classify(call)
                    if info.kind == "io":
                        views.append([*self._ctx.location(call, within=stmt.node), info.describe(), info.category,
                                      info.task, wrote])
                    elif info.kind in ("business", "unknown") and (target := call_target(fn, call)):
                        view_calls.append([target, info.label, wrote, literal_kwargs(call),
                                           *self._ctx.location(call, within=stmt.node)])
        tm = [list(self._ctx.location(node)[:2]) for node in pyramid_tm_includes(module, self._ctx.text)]
        tm_views = [events for fn in module.functions if pyramid_view(fn) and (events := self._tm_view_events(fn))]
        calls = [c for fn in module.functions for c in self._calls_in_transactions(fn)]
        enqueues = [e for fn in module.functions for e in self._deferred_enqueues(fn)]
        sessions = [_span_facts(self._ctx, fn, span) for fn in module.functions for span in session_spans(fn) if span.writes]
        facts = {"atomic": atomic, "views": views, "view_calls": view_calls, "calls": calls, "sessions": sessions,
                 "enqueues": enqueues, "tm": tm, "tm_views": tm_views}
        return facts if any(facts.values()) else None

    def _tm_view_events(self, fn: FunctionModel) -> list[list[Any]]:
        """What a Pyramid view does in the request transaction pyramid_tm would open, in
        order (the project phase decides which project calls write or block):
        ``["w", line, label, did]`` a write or row lock through the request's session,
        ``["c", target, label, literals, *span]`` a call into the project,
        ``["i", *span, described, category, task]`` blocking I/O,
        ``["e", line]`` the transaction committed or aborted early."""
        work = work_of(fn)
        events: list[list[Any]] = []
        for stmt, call in fn.calls():
            if work.transaction_of(stmt) is not None:
                continue  # an explicit transaction: the file phase reports in it
            line = self._ctx.line_of(call, within=stmt.node)
            if ends_request_transaction(fn, call):
                events.append(["e", line])
            elif row_lock(call):
                events.append(["w", line, call_label(call), "locked rows"])
            elif (label := session_write(fn, call)) is not None:
                events.append(["w", line, label, "wrote"])
            else:
                info = work.classify(call)
                if info.kind == "io":
                    events.append(["i", *self._ctx.location(call, within=stmt.node), info.describe(), info.category,
                                   info.task])
                elif info.kind in ("business", "unknown") and (target := call_target(fn, call)):
                    events.append(["c", target, info.label, literal_kwargs(call),
                                   *self._ctx.location(call, within=stmt.node)])
        return events if any(e[0] in ("w", "c") for e in events) else []

    def _calls_in_transactions(self, fn: FunctionModel) -> Iterator[list[Any]]:
        """Calls into other modules' code inside an explicit transaction: blocking
        I/O if the project's call graph says the callee does some."""
        work = work_of(fn)
        if not work.transactions:
            return
        for stmt, call in fn.calls():
            tx = work.transaction_of(stmt)
            if tx is None:
                continue
            info = work.classify(call)
            target = call_target(fn, call) if info.kind in ("business", "unknown") else None
            if target is not None:
                tx_line = _spot(self._ctx, tx.node, fn.stmts[tx.first - 1])[0] if tx.first > 0 else self._ctx.location(tx.node)[0]
                yield [target, info.label, *_spot(self._ctx, call, stmt), tx.label, tx_line, _after(tx),
                       literal_kwargs(call)]

    def check_project(self, index: "ProjectIndex", out: "ProjectReporter") -> None:
        graph = summaries.call_graph(index)
        for path, facts in index.facts(self.code):
            for target, label, start_line, start_col, end_line, end_col, tx_label, tx_line, after, literals in facts[
                    "calls"]:
                steps = graph.io_chain_for(target, literals)
                if steps is not None:
                    described = summaries.described(label, steps)
                    out.report(self, path, start_line, start_col, end_line, end_col,
                               self._message(described, steps[-1].category, tx_label, tx_line, after),
                               related=[_io_site(steps, start_line)])
            for task, start_line, start_col, end_line, end_col, message, fix in facts.get("enqueues", ()):
                if graph.enqueues_to_broker(task):
                    out.report(self, path, start_line, start_col, end_line, end_col, message,
                               fix=Fix.from_json(fix) if fix is not None else None)
        self._request_transactions(index, out, graph)
        reported: set[tuple[str, int, int]] = set()
        self._written_sessions(index, out, graph, reported)
        self._written_request_session(out, graph, reported)

    def _written_sessions(self, index: "ProjectIndex", out: "ProjectReporter", graph: summaries.CallGraph,
                          reported: set[tuple[str, int, int]]) -> None:
        """Blocking I/O while a session the function did not open holds a transaction that
        has written (``repository.update(x)`` then a Stripe call, before the commit)."""
        for path, facts in index.facts(self.code):
            for span in facts.get("sessions", ()):
                if span["alias"] and graph.handle_kind(span["alias"]) != "session-type":
                    continue  # the imported annotation is not a session
                writes = _writes(span, graph)
                for item in _held_io(span, graph, passing=True) if writes else ():
                    key = (path, item.spot[0], item.spot[1])
                    dirty = _dirty_at(writes, item)
                    if dirty is None or key in reported:
                        continue
                    reported.add(key)
                    out.report(self, path, *item.spot, self._written_message(item, dirty, span["borrowed"]),
                               related=[item.related] if item.related is not None else [])

    def _written_request_session(self, out: "ProjectReporter", graph: summaries.CallGraph,
                                 reported: set[tuple[str, int, int]]) -> None:
        """Blocking I/O after a write through the request session (``db.session``) made by the
        function or a helper it called, before anything commits (``create_editable()`` flushes,
        then ``notify_service()`` calls ``requests.put``)."""
        for item in WrittenFlow(SessionFlow(graph)).written_io():
            key = (item.path, item.spot[0], item.spot[1])
            if key in reported:
                continue
            reported.add(key)
            out.report(self, item.path, *item.spot, self._request_session_message(item),
                       related=[_io_site(item.steps, item.spot[0])] if len(item.steps) > 1 else [])

    @staticmethod
    def _request_session_message(item: WrittenIo) -> str:
        waits = "enqueues a task" if item.category == "queue" else _WAITS.get(item.category, "does blocking I/O")
        return (
            f"{summaries.described(item.label, item.steps)} {waits} inside the request session's transaction that wrote at line {item.write_line} "
            f"({item.write}): the session holds its connection and the written rows' locks across the call until "
            f"the request commits; make the call before the write, or after the commit"
        )

    @staticmethod
    def _written_message(item: _HeldIo, dirty: _Dirty, borrowed: bool) -> str:
        waits = "enqueues a task" if item.category == "queue" else _WAITS.get(item.category, "does blocking I/O")
        where = (
            "end the transaction before the call in the caller that owns the session, or make the call after it"
            if borrowed else "commit before the call, or make it after the commit"
        )
        return (
            f"{item.described} {waits} inside the transaction that wrote at line {dirty.line} ({dirty.text}): "
            f"the session holds its connection and the written rows' locks across the call; {where}"
        )

    def _request_transactions(self, index: "ProjectIndex", out: "ProjectReporter", graph: summaries.CallGraph) -> None:
        """I/O in Django views (directly or through the project's helpers) where ATOMIC_REQUESTS is on,
        and in Pyramid views where the configuration includes pyramid_tm."""
        self._tm_transactions(index, out, graph)
        setting = self._first_setting(index, "atomic", "ATOMIC_REQUESTS is turned on here")
        if setting is None:
            return
        where, shown, line = setting
        for view_path, facts in index.facts(self.code):
            found = [[*view[:6], view[7]] for view in facts["views"] if not view[6] or graph.enqueues_to_broker(view[6])]
            for target, label, wrote, literals, *span in facts["view_calls"]:
                steps = graph.io_chain_for(target, literals)
                if steps is not None:
                    found.append([*span, summaries.described(label, steps), steps[-1].category, wrote])
            for start_line, start_col, end_line, end_col, label, category, (wrote_line, write, did) in found:
                waits = "enqueues a task" if category == "queue" else _WAITS.get(category, "does blocking I/O")
                out.report(self, view_path, start_line, start_col, end_line, end_col, (
                    f"{label} {waits} inside the request transaction ({shown}:{line}, ATOMIC_REQUESTS) that {did} "
                    f"at line {wrote_line} ({write}): the request keeps its connection and those rows' locks "
                    f"meanwhile; register it with `transaction.on_commit(...)` or mark the view "
                    f"@transaction.non_atomic_requests"
                ), related=[where])

    def _first_setting(self, index: "ProjectIndex", key: str, note: str) -> tuple[Related, str, int] | None:
        """Where the project first turns a request transaction on (facts ``key``): the
        related place, its file's name and its line; None when nothing does."""
        places = [(path, line, col) for path, facts in index.facts(self.code) for line, col in facts.get(key, ())]
        if not places:
            return None
        path, line, col = places[0]
        return Related(path, line, col, note), path.rsplit("/", 1)[-1], line

    def _tm_transactions(self, index: "ProjectIndex", out: "ProjectReporter", graph: summaries.CallGraph) -> None:
        """Blocking I/O in Pyramid views after their first write, where pyramid_tm wraps every
        request in one transaction (the view's own calls, or project calls that reach some)."""
        setting = self._first_setting(index, "tm", "pyramid_tm is included here")
        if setting is None:
            return
        where, shown, line = setting
        for view_path, facts in index.facts(self.code):
            for events in facts.get("tm_views", ()):
                for span, label, category, (wrote_line, write, did) in _tm_io_after_write(events, graph):
                    waits = "enqueues a task" if category == "queue" else _WAITS.get(category, "does blocking I/O")
                    out.report(self, view_path, *span, (
                        f"{label} {waits} inside the request transaction ({shown}:{line}, pyramid_tm) that {did} "
                        f"at line {wrote_line} ({write}): the request keeps its connection and those rows' locks "
                        f"until the view returns; make the call before the write, or after "
                        f"`request.tm.commit()`, or in an after-commit hook"
                    ), related=[where])

    def _on_commit_fix(self, fn: FunctionModel, stmt: Stmt, call: cst.Call, work: FunctionWork) -> Fix | None:
        """``task.delay(...)`` -> ``transaction.on_commit(lambda: task.delay(...))``."""
        node = stmt.node
        if not (isinstance(node, cst.SimpleStatementLine) and len(node.body) == 1 and isinstance(node.body[0], cst.Expr)
                and node.body[0].value is call):
            return None
        if sum(1 for tx in work.transactions if tx.contains(stmt)) != 1:
            return None  # inside a savepoint: its rollback would not discard the hook's intent
        spelled = next((local for local, qualified in fn.module.imports.names.items()
                        if qualified == "django.db.transaction"), None)
        if spelled is None or stmt.in_loop or _rebound_later(fn, stmt, call):
            return None  # in a loop, every lambda would read the last round's values
        hook = cst.Call(
            func=cst.Attribute(cst.Name(spelled), cst.Name("on_commit")),
            args=[cst.Arg(cst.Lambda(params=cst.Parameters(), body=call))],
        )
        return self._ctx.replacement_fix(call, hook, "enqueue it on commit (transaction.on_commit)", FixSafety.UNSAFE)

    @staticmethod
    def _message(described: str, category: str, tx_label: str, line: int, later: str) -> str:
        if category == "queue":
            return (
                f"{described} enqueues a task inside {tx_label} (line {line}): the broker round trip "
                f"holds the transaction open, and the worker may run before the commit; {later}"
            )
        return (
            f"{described} {_WAITS.get(category, 'does blocking I/O')} inside {tx_label} "
            f"(line {line}): the transaction keeps its connection and locks meanwhile; {later}"
        )


def _io_in_transactions(fn: FunctionModel) -> Iterator[tuple[Stmt, cst.Call, FunctionWork, Any, Transaction]]:
    """The blocking I/O calls inside the function's explicit transactions, outermost
    first (a call nested in one already found is left out)."""
    work = work_of(fn)
    if not work.transactions:
        return
    reported: list[cst.Call] = []
    for stmt, call in fn.calls():
        tx = work.transaction_of(stmt)
        if tx is None or any(_inside(call, outer) for outer in reported):
            continue
        info = work.classify(call)
        if info.kind == "io":
            reported.append(call)
            yield stmt, call, work, info, tx


def _after(tx: Transaction) -> str:
    """The advice for work found inside ``tx``."""
    return "register it with `transaction.on_commit(...)`" if tx.library == "django" else tx.after


def _spot(ctx: Any, node: cst.CSTNode, stmt: Stmt) -> list[int]:
    """Where a node of the statement is, for facts (cheap: no whole-file position pass)."""
    found = statement_locator(ctx.model, ctx.text, ctx.python_tree).locate(node, stmt.node)
    return list(found if found is not None else ctx.location(node, within=stmt.node))


def _flow_related(item: FlowIo) -> list[Related]:
    """Where the hold began and, when it is elsewhere, where the I/O blocks."""
    found = [Related(item.origin.path, item.origin.line, 1, "the request session checks out its connection here")]
    if item.site is not None:
        found.append(Related(item.site.path, item.site.line, 1, f"{item.site.label} blocks here"))
    return found


def _io_site(steps: list[summaries.Step], line: int) -> Related:
    """Where the blocking I/O behind a call happens (the last step of its chain)."""
    last = steps[-1]
    if len(steps) == 1:
        return Related(last.path, last.line, 1, f"the task {last.label} enqueues (enqueued at line {line})")
    return Related(last.path, last.line, 1, f"{last.label} blocks here (reached from line {line})")


@dataclass(frozen=True)
class _HeldIo:
    """Blocking I/O done while a session is held, as the project phase sees it."""

    spot: list[int]  # line, column, end line, end column of the call
    text: str  # "send_email() (line 7, calls smtplib.SMTP().sendmail())"
    described: str  # "send_email() (calls smtplib.SMTP().sendmail())"
    category: str
    related: Related | None = None
    branches: list[list[str]] = field(default_factory=list)  # [subject, literal] arms it runs in

    @property
    def line(self) -> int:
        return self.spot[0]


@dataclass(frozen=True)
class _Dirty:
    """A write of a session span: its transaction holds row locks from here."""

    line: int
    text: str  # "repository.update(), calls self.session.add()"
    until: int = 0  # the line of the return/raise ending its branch (0: none)
    branches: list[list[str]] = field(default_factory=list)  # [subject, literal] arms it runs in


def _span_facts(ctx: Any, fn: FunctionModel, span: SessionSpan) -> dict[str, Any]:
    """A session span as project facts (SL101 and SL103 read the same shape)."""
    ref = span.ref
    io = []
    for item in span.io:
        spot = _spot(ctx, item.call, item.stmt)
        via = f", calls {' -> '.join(item.info.via)}" if item.info.via else ""
        io.append([f"{item.info.label} (line {spot[0]}{via})", item.info.describe(), item.info.category, item.info.task,
                   equality_branches(fn, item.stmt), *spot])
    return {
        "at": _spot(ctx, span.begin_call, span.begin), "spelled": ref.spelled, "library": ref.library,
        "borrowed": ref.borrowed, "alias": ref.alias, "io": io,
        "calls": [[c.target, c.info_label, literal_kwargs(c.call), equality_branches(fn, c.stmt), *_spot(ctx, c.call, c.stmt)]
                  for c in span.calls],
        "passing": [[c.target, c.info_label, literal_kwargs(c.call), equality_branches(fn, c.stmt),
                     *_spot(ctx, c.call, c.stmt)] for c in span.passing],
        "writes": [[w.label, w.target, _spot(ctx, w.call, w.stmt)[0], _spot(ctx, w.until.node, w.until)[0] if w.until else 0,
                    equality_branches(fn, w.stmt)] for w in span.writes],
    }


#: how far below a helper handed the session its blocking I/O may be (the helper, one
#: client wrapper, the call): deeper chains run through the helper's own branches and holds
HANDED_IO_DEPTH = 3


def _held_io(span: dict[str, Any], graph: summaries.CallGraph, passing: bool = False) -> list[_HeldIo]:
    """The span's blocking I/O: its own calls and the project calls that reach some; with
    ``passing``, also the calls handed the session (SL103: their I/O is inside the transaction
    that wrote; for SL101 the callee's own hold is reported in the callee)."""
    found = [_HeldIo(spot, text, described, category, branches=branches)
             for text, described, category, task, branches, *spot in span["io"] if not task or graph.enqueues_to_broker(task)]
    handed = [[*call, True] for call in span.get("passing", ())] if passing else []
    for target, label, literals, branches, *spot, handed_session in [*[[*c, False] for c in span["calls"]], *handed]:
        steps = graph.io_chain_for(target, literals)
        if steps is not None and handed_session and len(steps) > HANDED_IO_DEPTH:
            continue  # deeper in a helper handed the session: its own spans report it nearer the I/O
        if steps is not None:
            calls = f", calls {summaries.render_chain(steps[1:])}" if len(steps) > 1 else ""
            found.append(_HeldIo(spot, f"{label} (line {spot[0]}{calls})", summaries.described(label, steps),
                                 steps[-1].category, _io_site(steps, spot[0]), branches))
    return sorted(found, key=lambda item: item.spot)


def _writes(span: dict[str, Any], graph: summaries.CallGraph) -> list[_Dirty]:
    """The span's writes, its own or through a project callee, in line order."""
    found = []
    for label, target, line, until, branches in sorted(span.get("writes", ()), key=lambda write: write[2]):
        if not target:
            found.append(_Dirty(line, label, until, branches))
        elif (steps := graph.write_chain(target)) is not None:
            found.append(_Dirty(line, f"{label}, calls {summaries.render_chain(steps[1:])}", until, branches))
    return found


def _dirty_at(writes: list[_Dirty], item: _HeldIo) -> _Dirty | None:
    """The first write that precedes the I/O on its path (not in a branch that returned,
    nor in an arm for another value of the subject the I/O's arm tests)."""
    line = item.line
    return next((w for w in writes if w.line < line and (not w.until or line <= w.until)
                 and not exclusive(w.branches, item.branches)), None)


def _tm_io_after_write(events: list[list[Any]], graph: summaries.CallGraph) -> Iterator[tuple[list[int], str, str, list[Any]]]:
    """(span, label, category, [write line, write, did]) of each blocking I/O a Pyramid view does
    after its first write, until the transaction ends early. A project call that writes
    counts as the write (its own I/O is not known to come after it)."""
    wrote: list[Any] = []
    for event in events:
        kind = event[0]
        if kind == "e":
            wrote = []
        elif kind == "w":
            wrote = wrote or [event[1], event[2], event[3]]
        elif kind == "i":
            span, described, category, task = event[1:5], event[5], event[6], event[7]
            if wrote and (not task or graph.enqueues_to_broker(task)):
                yield span, described, category, wrote
        elif kind == "c":
            target, label, literals, span = event[1], event[2], event[3], event[4:8]
            if not wrote:
                if (steps := graph.write_chain(target)) is not None:
                    wrote = [span[0], f"{label}, calls {summaries.render_chain(steps[1:])}", "wrote"]
            elif (steps := graph.io_chain_for(target, literals)) is not None:
                yield span, summaries.described(label, steps), steps[-1].category, wrote


def _atomic_requests_settings(module: ModuleModel, text: str) -> Iterator[cst.CSTNode]:
    """``"ATOMIC_REQUESTS": True`` in a ``DATABASES`` dict (or
    ``DATABASES["default"]["ATOMIC_REQUESTS"] = True``). A file that never
    spells the setting's name (split across string pieces counts as not
    spelled, as for the rules' vocabulary) is not walked."""
    if "ATOMIC_REQUESTS" not in text:
        return
    for node in module.nodes_of(cst.DictElement, cst.Assign):
        if isinstance(node, cst.DictElement) and string_value(node.key) == "ATOMIC_REQUESTS" and (
            isinstance(node.value, cst.Name) and node.value.value == "True"
        ):
            yield node
        elif isinstance(node, cst.Assign) and isinstance(node.value, cst.Name) and node.value.value == "True" and any(
            isinstance(t.target, cst.Subscript) and "ATOMIC_REQUESTS" in cst.Module([]).code_for_node(t.target)
            for t in node.targets
        ):
            yield node


def _non_atomic(fn: FunctionModel) -> bool:
    """``@transaction.non_atomic_requests`` on the view, or on its class's ``dispatch()``
    (directly, through ``method_decorator``, or ``@method_decorator(..., name="dispatch")``
    on the class): the view runs in autocommit."""
    if any(_marks_non_atomic(dec.decorator) for dec in fn.node.decorators):
        return True
    if fn.cls is None:
        return False
    if any(_marks_non_atomic(dec.decorator, method="dispatch") for dec in fn.cls.node.decorators):
        return True
    return any(
        isinstance(stmt, cst.FunctionDef) and stmt.name.value == "dispatch"
        and any(_marks_non_atomic(dec.decorator) for dec in stmt.decorators)
        for stmt in fn.cls.node.body.body
    )


def _marks_non_atomic(decorator: cst.BaseExpression, method: str | None = None) -> bool:
    """``transaction.non_atomic_requests`` (called or not) or
    ``method_decorator(transaction.non_atomic_requests[, name=method])``; with
    *method*, only the class-level form naming that method counts."""
    target = decorator.func if isinstance(decorator, cst.Call) else decorator
    last = (dotted(target) or "").rsplit(".", 1)[-1]
    if last == "non_atomic_requests":
        return method is None
    if last != "method_decorator" or not isinstance(decorator, cst.Call) or not decorator.args:
        return False
    wrapped = decorator.args[0].value
    wrapped = wrapped.func if isinstance(wrapped, cst.Call) else wrapped
    if (dotted(wrapped) or "").rsplit(".", 1)[-1] != "non_atomic_requests":
        return False
    name = next((string_value(a.value) for a in decorator.args[1:] if a.keyword and a.keyword.value == "name"), None)
    return name == method


def _rebound_later(fn: FunctionModel, stmt: Stmt, call: cst.Call) -> bool:
    """Whether a name the call reads is assigned again after it (a lambda would see the new value)."""
    names = {n.value for n in walk(call) if isinstance(n, cst.Name)}
    for later in fn.stmts:
        if later.ordinal <= stmt.ordinal:
            continue
        for node in walk(later.node):
            target = getattr(node, "target", None)
            if isinstance(node, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.For, cst.CompFor)) and any(
                isinstance(n, cst.Name) and n.value in names for n in walk(target)
            ):
                return True
    return False


class RowLockHeldAcrossWork(Rule):
    """
    ## What it does
    Finds row locks taken inside a transaction (`select_for_update()`,
    SQLAlchemy `with_for_update()`, a helper named for one such as
    `stock_qs_select_for_update()`, SQL text with `FOR UPDATE`) that are held
    while the project's own functions doing no database work run before the
    transaction's last write, on inputs that do not come from the locked rows
    (so they could run before the lock). It reports the lock and names the calls.

    Left alone: builtins, library utilities (formatting, ids, clocks such as
    `humanize`, `uuid`, `time`), building a value of a class (an enum member,
    an unsaved instance), methods of objects of unknown type, logging,
    attribute assignment and method calls on the locked rows, work given the locked rows
    or values read from them (that is what the lock protects), ORM and cursor
    calls, the module's own helpers that query the database (followed two
    levels), parent-class methods (`super()...`) and calls on the error path.

    ## Why it matters at scale
    A row lock makes every other transaction that wants the same rows wait
    until the commit. Hot rows (a product's stock, an account balance, a
    voucher's usage count) are wanted by many requests at once, so each
    millisecond spent computing taxes or rendering inside the lock is paid by
    every request queued behind it, and the queue grows with traffic.

    ## Example
    ```python
    from django.db import transaction

    from shop.models import Order
    from shop.pricing import apply_discounts, calculate_tax

    def checkout(order_id, lines_total, voucher_code):
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id)
            order.tax = calculate_tax(lines_total)
            order.total = apply_discounts(lines_total, voucher_code)
            order.save()
    ```

    ## Use instead
    ```python
    from django.db import transaction

    from shop.models import Order
    from shop.pricing import apply_discounts, calculate_tax

    def checkout(order_id, lines_total, voucher_code):
        tax = calculate_tax(lines_total)
        total = apply_discounts(lines_total, voucher_code)
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id)
            order.tax, order.total = tax, total
            order.save()
    ```

    ## Fix safety
    No automatic fix: a project function may have side effects or read
    state that the lock orders, and only its author knows whether it can run
    earlier.

    ## Configuration
    `io-functions` names project callables that do blocking I/O. Only request
    code is checked by default (`contexts`): a lock held in a one-shot script
    has no concurrent requests queued behind it.

    Reported at low confidence (shown with `--min-confidence low`) when every
    call named is made in the test of an `if` or `while`
    (`if policy and Bundle.is_bundleable(policy.channel):`): a predicate
    deciding a branch, which costs microseconds unless it does I/O that the
    calls' names do not show.
    """

    code = "SL105"
    name = "row-lock-held-across-work"
    summary = "row lock from select_for_update()/FOR UPDATE held while unrelated code runs"
    vocabulary = ("for_update", "FOR UPDATE", "for update")

    def check_function(self, fn: FunctionModel) -> None:
        for found in locked_work(fn):
            self.report(found.lock, self._message(found),
                        confidence=Confidence.LOW if found.only_tested else Confidence.HIGH)

    def _message(self, found: LockedWork) -> str:
        names = list(dict.fromkeys(info.label for _, info in found.work))
        named = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        on = f" on {found.table}" if found.table else ""
        write = self._ctx.line_of(found.write.node)
        return (
            f"row lock{on} held across {named} before the write at line {write}: every transaction "
            f"waiting for these rows waits for them too; compute before taking the lock, or after the write"
        )


class QueryInLoop(ProjectRule):
    """
    ## What it does
    Finds a query executed once per iteration of a loop (the N+1 pattern):
    a cursor, connection or session query inside a `for` loop, `async for` or
    comprehension whose arguments come from the iteration, a Django
    `Model.objects...` call that runs inside the loop, a queryset iterated
    inside an outer loop, or a lazily loaded relationship read on each object
    of a query result (`for u in User.objects.all(): u.profile.avatar`,
    `for o in session.scalars(select(Order)): o.customer.name`). Writes one
    row at a time are included (suggesting `executemany`, `bulk_create` or
    one set-based statement). Relationships are known from the project's
    model classes (Django `ForeignKey`/`OneToOneField`/`ManyToManyField` and
    their reverse accessors, SQLAlchemy and Flask-SQLAlchemy `relationship()`
    with its `lazy=` strategy and `backref`), wherever they are defined.

    ## Why it matters at scale
    Each iteration pays a network round trip and a query plan. With ten rows
    in development nobody notices; with ten thousand rows in production one
    request issues ten thousand queries, holds its connection for all of
    them and loads the database with work one query could do.

    ## Example
    ```python
    from django.db import models

    class Customer(models.Model):
        name = models.TextField()

    class Order(models.Model):
        customer_id = models.IntegerField()

    def names(orders: list[Order]):
        return [Customer.objects.get(id=o.customer_id).name for o in orders]
    ```

    ```python
    from django.db import models

    class Profile(models.Model):
        avatar = models.TextField()

    class User(models.Model):
        profile = models.OneToOneField(Profile, on_delete=models.CASCADE)

    def avatars():
        return [u.profile.avatar for u in User.objects.all()]
    ```

    ## Use instead
    ```python
    from django.db import models

    class Customer(models.Model):
        name = models.TextField()

    class Order(models.Model):
        customer_id = models.IntegerField()

    def names(orders: list[Order]):
        customers = Customer.objects.in_bulk([o.customer_id for o in orders])
        return [customers[o.customer_id].name for o in orders]
    ```

    ```python
    from django.db import models

    class Profile(models.Model):
        avatar = models.TextField()

    class User(models.Model):
        profile = models.OneToOneField(Profile, on_delete=models.CASCADE)

    def avatars():
        return [u.profile.avatar for u in User.objects.select_related("profile")]
    ```

    ## Fix safety
    Unsafe, for relationship reads on a loop over a query the same function
    builds (itself, or a local name bound once): the fix adds
    `.select_related("rel")` (forward foreign keys and one-to-ones) or
    `.prefetch_related("rel")` (reverse foreign keys, many-to-many) to the
    Django queryset, or `.options(selectinload(Model.rel))` to the SQLAlchemy
    `select()` / `query()` (importing `selectinload` from `sqlalchemy.orm`
    where isort would put it). The rows are the same; the query's shape
    changes (a join, or one more query for all rows), which can cost more
    than it saves on a loop that usually breaks early. Queries per iteration
    (`conn.execute(...)` in the body) need a batched query written by hand.

    ## Configuration
    `connection-factories` extends what counts as a database handle. Loops
    whose size the code fixes are never reported: literal collections
    (`for kind in ("a", "b")`, `range(3)`), module constants (also through a
    local name, `.items()` or a filtering comprehension), enum members,
    configuration lists (`settings.*`, `app.config[...]`), the command line
    (`sys.argv`, what `parse_args()` returned), schema objects
    (`metadata.sorted_tables`, `table.columns`, `Model._meta.fields`,
    `apps.get_models()`), attributes the class only ever sets to such
    values (`self.columns = ("title", "email")`) and properties of the module
    that only return such values (`return [ReadThrough(start, end)]`); a local
    collection grown in a loop over other data (`names.append(row.name)`) is
    not fixed. Nor are queries that run only in rounds handling a failure
    (after `logger.error(...)` or `logger.exception(...)` in their block), queries that run in
    one round at most (in a branch that ends with `return`, `raise` or `break`,
    no `try` around it), queries that lock each row in a transaction opened
    in the loop body (`with atomic(): ...select_for_update().get()`, per-row
    locking on purpose), or queries whose shape changes each round, which
    no single query can replace: another model (`session.query(model)`,
    `select(model_cls)`) or another column (`getattr(Model, field)`,
    `column.any(...)` with `column` a loop value, `filter(**{f"{field}__in": ids})`).
    Loops over values that are not rows are never reported either: the items
    of a document the function parses (`json.loads(...)`, `re.findall(...)`,
    `soup.find_all(...)`, `text.splitlines()`, also through local names,
    subscripts, `.get()`, a list grown from them and the module's own helpers
    that return them) and the delta of one edit (`added = new - old`,
    `[x for x in new if x not in old]`; not `rows - {actor}`, as big as `rows`).
    Loops over input of unknown size (parameters, request data such as
    `for pk in request.data["ids"]`, a `many=True` serializer's
    `validated_data`) stay reported: a bulk endpoint gets as many ids as its
    client sends, and one `filter(pk__in=ids)` is the fix. Loops that batch on purpose (`chunk`/`batch`/`page`
    in their names, `filter(id__in=batch)`), `while` loops and batched
    writes (`executemany`, `bulk_create`, `bulk_update`) are never reported.
    Relationship reads are reported only on loops over a recognised query
    result of a known model (or over a relation of an element of such a loop:
    `for c in Customer.objects.all(): for o in c.orders.all(): o.product`,
    or over a new query on a relation of a parameter annotated with a model,
    `customer.orders.filter(...)`, whose rows no caller can have prefetched),
    and not when the query loads the relation
    (`select_related`/`prefetch_related`, including `__` paths, and those
    a custom manager's `get_queryset()` always applies;
    `options(joinedload/selectinload/subqueryload(...))`), when the
    relationship is declared eager (`lazy="joined"`, `"selectin"`,
    `"subquery"`, `"immediate"`, `"raise"`), or for plain columns, `_id`
    foreign-key columns and properties; nor for SQLAlchemy many-to-one
    relations the identity map answers: the parent every row shares (the query
    filters `Model.<relation>_id == x` or `filter_by(<relation>=x)`), the way
    back to the owner of an iterated collection (`for b in room.bookings:
    b.room`) and the parent the loop groups rows by (`by_room[b.room].append(b)`:
    one load per group). One finding per loop: at its first
    query (or first lazily loaded relation), its message naming the others.

    Reported at low confidence (shown with `--min-confidence low`) when the
    loop's size is not in evidence: it walks the rows of one parent (a query
    whose filter equates a column with one value the function holds,
    `filter(user=request.user)`, `Model.query.filter(Model.owner == owner)`),
    a relation of one object (`customer.orders.all()`, `order.items`), a
    parameter or local collection of unknown provenance (ids, names, a
    payload's items, `kinds: list[str]`); or when each round also does network
    I/O (HTTP, cloud SDKs, e-mail), directly or through the project's own
    helpers in any module (`notify_partner(order)` whose callee posts over
    HTTP; enqueueing a task does not count) or through a method of the
    project's model classes called on the loop's element or on an object a
    foreign key of it reaches (`n.template.send()` over `Notification` rows is
    `Template.send`, the class the foreign key names), which costs more than
    the query; or when the loop runs in a scheduled job (a function a periodic
    schedule runs: Celery beat, `add_periodic_task`, APScheduler; and the
    helpers only such jobs call), one run at a time, off any request. Reported at high confidence: loops over
    the rows of a query over a table (`Order.objects.filter(kind__in=kinds)`,
    `session.scalars(select(Order))`, a view's `self.queryset`, also through
    local names, `list()`/`set()` and `+`), a request's payload
    (`request.data[...]`, `request.POST.getlist(...)`), a collection annotated
    as instances of a class (`lines: Iterable[OrderLine]`), and the items of
    each element of an enclosing loop (`for t in suite["tests"]` inside
    `for suite in ...`: the rounds multiply).
    """

    code = "SL104"
    name = "query-in-loop"
    low_confidence_contexts = frozenset({SCHEDULED})
    fix_safety = FixSafety.UNSAFE
    #: function id -> (function, its comprehensions) from the file phase's scan, read by collect_facts
    _scanned: dict[int, tuple[FunctionModel, list[cst.CSTNode]]]

    #: loops whose confidence waits for the project phase: [line, column, end line,
    #: end column, message, related places (JSON), the project helpers a round calls]
    _deferred: list[list[Any]]
    shared_facts = (summaries.FACTS_KEY,)

    def __init__(self) -> None:
        self._scanned = {}
        self._deferred = []
    summary = "a query executed once per loop iteration (N+1)"
    vocabulary = (
        "execute", "objects.", ".query", "fetch", "scalar", "session", "Session", "cursor", "refresh",
        "ForeignKey", "OneToOneField", "ManyToManyField", "relationship", "Relationship", "relation(", "get_queryset",
    )

    def check_function(self, fn: FunctionModel) -> None:
        scanner = _scanned(fn)
        for group in _by_loop(scanner.found):
            related = [self.related(other.query.call, f"{other.query.label} runs per iteration too") for other in group[1:]]
            loop = group[0].loop
            evidence = loop_evidence(fn, loop.node, loop.iterable, scanner.local_values)
            helpers = round_helpers(fn, loop.node) if evidence.strong else []
            if helpers:  # whether a helper's round waits on the network is known in the project phase
                self._deferred.append([*self._ctx.location(group[0].query.call), self._message(group),
                                       [r.to_json() for r in related], helpers])
                continue
            self.report(group[0].query.call, self._message(group), related=related,
                        confidence=Confidence.HIGH if evidence.strong else Confidence.LOW)
        self._scanned[id(fn)] = (fn, scanner.comprehensions)

    def collect_facts(self, module: ModuleModel) -> dict | None:
        """The module's ORM models, and its loops over query results (lazy loads
        are judged in the project phase, where every model is known)."""
        scanned, self._scanned = self._scanned, {}
        deferred, self._deferred = self._deferred, []
        loops = []
        for fn in module.functions:
            seen = scanned.get(id(fn))
            comprehensions = seen[1] if seen is not None and seen[0] is fn else _scanned(fn).comprehensions
            loops.extend(loop_records(fn, self._ctx, comprehensions))
        facts = {"models": model_facts(module), "managers": manager_facts(module), "loops": loops,
                 "selectinload": self._selectinload(loops), "deferred": deferred}
        return {k: v for k, v in facts.items() if v} or None

    def _selectinload(self, loops: list[dict]) -> dict | None:
        """How the fix spells ``selectinload`` here, and the import edit it needs."""
        if not any(loop.get("orm") == "sqlalchemy" and "q" in loop for loop in loops):
            return None
        package = self._ctx.model.module_name.split(".")[0]
        plan = from_import(self._ctx, "sqlalchemy.orm", "selectinload", package)
        if plan is None:
            return None
        edit = plan.edit
        return {"name": plan.spelled, **({"edit": [edit.start, edit.end, edit.text]} if edit is not None else {})}

    def check_project(self, index: ProjectIndex, out: ProjectReporter) -> None:
        published = list(index.facts(self.code))
        self._report_deferred(index, published, out)
        if not any(facts.get("loops") for _, facts in published):
            return
        models = ModelIndex(
            (model for _, facts in published for model in facts.get("models", ())),
            (manager for _, facts in published for manager in facts.get("managers", ())),
        )
        for path, facts in published:
            for load in lazy_loads(models, facts.get("loops", [])):
                related = [Related(path, o.loc[0], o.loc[1], f"`{o.spelled}` lazy-loads too") for o in load.others]
                weak = load.weak or _waits_on_network(index, load.helpers)
                out.report(self, path, *load.loc, load.message, related=related,
                           fix=_eager_fix(load, facts.get("selectinload")),
                           confidence=Confidence.LOW if weak else Confidence.HIGH)

    def _report_deferred(self, index: ProjectIndex, published: list, out: ProjectReporter) -> None:
        """The loops over strong sources whose rounds call project helpers: low
        confidence when one of those helpers reaches network I/O (the round
        waits on the network more than on its query), else high."""
        for path, facts in published:
            for line, column, end_line, end_column, message, related, helpers in facts.get("deferred", ()):
                out.report(self, path, line, column, end_line, end_column, message,
                           related=[Related.from_json(r, path) for r in related],
                           confidence=Confidence.LOW if _waits_on_network(index, helpers) else Confidence.HIGH)

    def _message(self, group: list[LoopQuery]) -> str:
        """One loop's queries: the first, its advice, and the others by line."""
        query, loop = group[0].query, group[0].loop
        iterable = _short(loop.iterable)
        line = self._ctx.line_of(loop.node, within=group[0].stmt)
        advice = _ADVICE.get((query.style, query.write)) or _ADVICE[(query.style, "read" if not query.write else "write")]
        message = f"{query.label} runs once per iteration of the loop over {iterable} (line {line}); {advice}"
        if len(group) == 1:
            return message
        others = ", ".join(f"{found.query.label} (line {self._ctx.line_of(found.query.call, within=found.stmt)})"
                           for found in group[1:])
        return f"{message}; the loop also runs {others}"


def _eager_fix(load: LazyLoad, selectinload: dict | None) -> Fix | None:
    """Load the loop's relations with its query: ``.select_related(...)`` /
    ``.prefetch_related(...)`` on a Django queryset, ``.options(selectinload(...))``
    on a SQLAlchemy query (importing ``selectinload`` where needed)."""
    loaders = load.loaders()
    if load.query is None or not loaders:
        return None
    at = load.query["at"]
    alchemy = [arg for method, arg in loaders if method == "selectinload"]
    if alchemy:
        if selectinload is None:
            return None
        call = ", ".join(f"{selectinload['name']}({arg})" for arg in alchemy)
        edits = [Edit(at, at, f".options({call})")]
        if "edit" in selectinload:
            edits.insert(0, Edit(*selectinload["edit"]))
        return Fix(f"load it with the query: .options({call})", FixSafety.UNSAFE, tuple(edits))
    by_method: dict[str, list[str]] = {}
    for method, arg in loaders:
        by_method.setdefault(method, []).append(f'"{arg}"')
    text = "".join(f".{method}({', '.join(args)})" for method, args in by_method.items())
    return Fix(f"load it with the queryset: {text}", FixSafety.UNSAFE, (Edit(at, at, text),))


_ADVICE = {
    ("django", "read"): "fetch them in one query (`filter(<field>__in=...)`, `in_bulk()`, `select_related`/`prefetch_related`)",
    ("django", "create"): "create them in one query with `bulk_create()`",
    ("django", "update"): "update them in one query (`filter(...).update(...)` or `bulk_update()`)",
    ("django", "delete"): "delete them in one query with `filter(<field>__in=...).delete()`",
    ("django", "write"): "batch the writes in one query",
    ("sqlalchemy", "read"): "load them in one query (`where(Model.id.in_(...))`, `selectinload`)",
    ("sqlalchemy", "write"): "batch the writes in one statement",
    ("sql", "read"): "fetch them in one query (`WHERE id = ANY(%s)` / `IN (...)` or a join)",
    ("sql", "write"): "send them in one batch (`executemany()` or one set-based statement)",
}


def _by_loop(found: list[LoopQuery]) -> list[list[LoopQuery]]:
    """The queries found, grouped by the loop that repeats them (in source order)."""
    groups: dict[int, list[LoopQuery]] = {}
    for item in found:
        groups.setdefault(id(item.loop.node), []).append(item)
    return list(groups.values())


def _scanned(fn: FunctionModel) -> LoopScanner:
    scanner = LoopScanner(fn)
    scanner.scan()
    return scanner


def _short(expr: cst.BaseExpression) -> str:
    spelled = render_chain(expr)
    return f"`{spelled}`" if len(spelled) < 60 and "…" not in spelled else "its items"


_WAITS = {
    "http": "waits on the network", "cloud": "waits on a cloud API", "mail": "waits on a mail server",
    "sleep": "sleeps", "subprocess": "waits on a subprocess", "socket": "waits on a socket",
}


def _inside(call: cst.Call, outer: cst.Call) -> bool:
    return any(sub is call for sub in walk(outer, into_functions=False))

def _waits_on_network(index: ProjectIndex, helpers: Any) -> bool:
    """Whether one of the project functions a loop's round calls waits on the
    network (the call graph is built once per project phase, and only when asked)."""
    return bool(helpers) and any(summaries.call_graph(index).network_io(helper) for helper in helpers)


RULES = [ConnectionHeldAcrossWork, UnscopedConnection, BlockingIoInTransaction, RowLockHeldAcrossWork, QueryInLoop]

