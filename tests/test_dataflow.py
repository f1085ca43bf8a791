"""The dataflow model behind the replica rules: facts survive JSON (the
project phase and the cache read them back), recognition follows config, and
names are handles only where they are used as one."""
from __future__ import annotations

import json
from pathlib import Path

import libcst as cst
import pytest

from helpers import lint, lint_tree
from scalelint.context import FileContext
from scalelint.model import dbops
from scalelint.model.flow.dataflow import ModuleFlow
from scalelint.model.flow.interpret import module_flow
from scalelint.model.flow.flowgraph import Graph
from scalelint.model.module import ModuleModel, Recognition

SOURCE = '''
from app import db


def balance_of(user_id, consistent=False):
    handle = db.primary if consistent else db.replica
    return handle.query("SELECT balance FROM accounts WHERE user_id = %s", user_id)


def withdraw(user_id, amount):
    if balance_of(user_id) >= amount:
        db.primary.execute("UPDATE accounts SET balance = balance - %s WHERE user_id = %s", amount, user_id)


def withdraw_consistent(user_id, amount):
    if balance_of(user_id, consistent=True) >= amount:
        db.primary.execute("UPDATE accounts SET balance = balance - %s WHERE user_id = %s", amount, user_id)
'''


def _flow(source: str, recognition: Recognition | None = None) -> ModuleFlow:
    module = cst.parse_module(source)
    model = ModuleModel(module, path="bank.py", module_name="bank", recognition=recognition)
    return module_flow(FileContext("bank.py", source, module, model))


def _replica_reaches(graph: Graph, name: str) -> list[tuple[str, str, bool]]:
    fn = graph.functions[f"bank.{name}"]
    return sorted({(r.role, r.write.what, r.label.replica) for r in graph.reaches(fn)})


def test_facts_round_trip_through_json() -> None:
    flow = _flow(SOURCE)
    decoded = ModuleFlow.from_json("bank.py", json.loads(json.dumps(flow.to_json())))
    local, remote = Graph([flow]), Graph([decoded])
    for name in ("withdraw", "withdraw_consistent"):
        assert _replica_reaches(local, name) == _replica_reaches(remote, name)
    assert decoded.origins.keys() == flow.origins.keys()
    assert [o.spot for o in decoded.origins.values()] == [flow.spot(o) for o in flow.origins.values()]


def test_parameter_selects_the_handle() -> None:
    graph = Graph([_flow(SOURCE)])
    assert (("ctl", "UPDATE accounts", True)) in _replica_reaches(graph, "withdraw")
    assert all(not replica for _, _, replica in _replica_reaches(graph, "withdraw_consistent"))


@pytest.mark.parametrize("name", ["db.replica", "read_db", "reader_session", "ReadSession", "ro_conn",
                                  "DATABASE_CONNECTION_REPLICA_NAME", "follower", "standby_engine"])
def test_replica_handle_names(name: str) -> None:
    assert dbops.replica_name(name, Recognition())


@pytest.mark.parametrize("name", ["replica_count", "allow_replica", "replica_lag", "read_file", "thread",
                                  "readme", "db.primary", "spreadsheet"])
def test_not_replica_handle_names(name: str) -> None:
    assert not dbops.replica_name(name, Recognition())


CONFIGURED = '''
from app.db import reporting, analytics_alias
from shop.models import Order, Payment


def charge(order_id):
    total = reporting.execute("SELECT total FROM orders WHERE id = %s", order_id)
    if total > 0:
        Payment.objects.create(order_id=order_id, amount=total)


def bill(order_id):
    order = Order.objects.using("analytics").get(pk=order_id)
    Payment.objects.create(order_id=order_id, amount=order.total)


def settle(secondary, order_id):
    total = secondary.execute("SELECT total FROM orders WHERE id = %s", order_id)
    Payment.objects.create(order_id=order_id, amount=total)
'''


def test_config_names_replica_handles_and_aliases() -> None:
    assert [f.line for f in lint(CONFIGURED, "SL201")] == [19]  # "secondary" reads as a replica
    configured = Recognition(replica_handles=("reporting",), replica_aliases=("analytics",),
                             primary_handles=("secondary",))
    assert [f.line for f in lint(CONFIGURED, "SL201", recognition=configured)] == [8, 14]


def test_tests_and_migrations_are_out_of_scope() -> None:
    test_module = "import pytest\n" + SOURCE
    assert lint(SOURCE, "SL201") and not lint(test_module, "SL201")


STATS_FROM_REPLICA = '''
from app import db


def refresh_stats(project_id):
    n_tasks = db.replica.query("SELECT n_tasks FROM projects WHERE id = %s", project_id)
    n_runs = db.replica.query("SELECT n_runs FROM projects WHERE id = %s", project_id)
    n_users = db.replica.query("SELECT n_users FROM projects WHERE id = %s", project_id)
    db.primary.execute("UPDATE accounts SET a = %s, b = %s, c = %s WHERE id = %s",
                       n_tasks, n_runs, n_users, project_id)
'''


def test_one_sl201_finding_per_write_with_the_other_reads_related() -> None:
    [found] = lint(STATS_FROM_REPLICA, "SL201")
    assert found.line == 9
    assert "n_tasks read from replica (example.py:6)" in found.message
    assert [(r.line, r.message) for r in found.related] == [
        (7, "n_runs read from replica feeds it too"), (8, "n_users read from replica feeds it too"),
    ]


def test_one_sl201_finding_per_write_when_reads_come_from_two_modules(tmp_path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "counts.py").write_text(
        "from app import db\n\n\n"
        "def task_count(project_id):\n"
        "    return db.replica.query(\"SELECT n FROM tasks WHERE project_id = %s\", project_id)\n"
    )
    (tmp_path / "app" / "stats.py").write_text(
        "from app import db\nfrom app.counts import task_count\n\n\n"
        "def refresh_stats(project_id):\n"
        "    n_runs = db.replica.query(\"SELECT n_runs FROM projects WHERE id = %s\", project_id)\n"
        "    n_tasks = task_count(project_id)\n"
        "    db.primary.execute(\"UPDATE stats SET runs = %s, tasks = %s WHERE id = %s\", n_runs, n_tasks, project_id)\n"
    )
    found = [f for f in lint_tree(tmp_path, "SL201")]
    assert [(Path(f.path).name, f.line) for f in found] == [("stats.py", 8)]


DECIDED_TWICE = '''
from app import db


def make_thumbnail(image_id, size):
    existing = db.replica.query("SELECT id FROM thumbnails WHERE image_id = %s AND size = %s", image_id, size)
    if existing:
        return existing
    image = db.replica.query("SELECT name FROM images WHERE id = %s", image_id)
    if not image:
        return None
    db.primary.execute("INSERT INTO thumbnails (image_id, size) VALUES (%s, %s)", image_id, size)
'''


def test_one_sl201_finding_per_write_decided_by_two_replica_checks() -> None:
    [found] = lint(DECIDED_TWICE, "SL201")
    assert found.line == 7
    assert [r.line for r in found.related] == [9]


@pytest.mark.parametrize("query, constant", [
    ('Site.objects.filter(name="main").exists()', True),
    ("Role.objects.filter(kind=Role.ADMIN, system=True).first()", True),
    ("User.query.filter_by(is_system=False).first()", True),
    ('session.execute(select(Site).where(Site.name == "default")).scalar()', True),
    ("Site.objects.filter(name=name).exists()", False),
    ('Site.objects.filter(name__startswith="main").exists()', False),
    ("Role.objects.filter(kind=Role.admin).first()", False),
    ('Site.objects.filter(name="main").filter(owner=user).exists()', False),
    ("Site.objects.filter(**lookups).exists()", False),
    ("Site.objects.all().exists()", False),
])
def test_lookups_keyed_by_constants_only(query: str, constant: bool) -> None:
    source = (f"from sqlalchemy import select\nfrom app.models import Role, Site, User\n\n\n"
              f"def f(session, name, user, lookups):\n    return {query}\n")
    flow = _flow(source)
    decoded = ModuleFlow.from_json("bank.py", json.loads(json.dumps(flow.to_json())))
    assert [o.constant for o in flow.origins.values()] == [constant]
    assert [o.constant for o in decoded.origins.values()] == [constant]


@pytest.mark.parametrize("query, aggregate", [
    ('Hold.objects.filter(item=i).values("item").annotate(total=Sum("quantity"))', True),
    ('Hold.objects.annotate(total=Sum("quantity")).get(pk=i)', True),
    ('cur.execute("SELECT COUNT(*) FROM holds WHERE item = %s", (i,))', True),
    ('cur.execute("SELECT SUM(quantity) FROM holds WHERE item = %s", (i,))', True),
    ('Order.objects.annotate(n=Count("lines__id")).get(pk=i)', False),
    ('Hold.objects.annotate(doubled=F("quantity") * 2).get(pk=i)', False),
    ("Hold.objects.get(pk=i)", False),
    ('cur.execute("SELECT quantity FROM holds WHERE id = %s", (i,))', False),
])
def test_reads_computing_totals_over_their_own_rows(query: str, aggregate: bool) -> None:
    source = (f"from django.db.models import Count, F, Sum\nfrom app.models import Hold, Order\n\n\n"
              f"def f(cur, i):\n    return {query}\n")
    flow = _flow(source)
    decoded = ModuleFlow.from_json("bank.py", json.loads(json.dumps(flow.to_json())))
    assert [o.aggregate for o in flow.origins.values()] == [aggregate]
    assert [o.aggregate for o in decoded.origins.values()] == [aggregate]
