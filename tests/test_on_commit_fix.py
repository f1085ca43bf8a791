"""SL103's on-commit fix, run: a task enqueued inside a Django transaction is
enqueued after the commit instead (and not at all when the block rolls back)."""
from __future__ import annotations

import types
from contextlib import contextmanager

import pytest

from helpers import fix, lint

SOURCE = '''\
from django.db import transaction

from shop.tasks import send_receipt


def checkout(order, fail=False):
    with transaction.atomic():
        order["status"] = "paid"
        send_receipt.delay(order["id"])
        if fail:
            raise RuntimeError("payment declined")
    return order["id"]
'''


class FakeTransactions:
    """django.db.transaction's atomic/on_commit: callbacks run after the outermost commit."""

    def __init__(self) -> None:
        self.depth = 0
        self.committed = False
        self.callbacks: list = []

    @contextmanager
    def atomic(self):
        self.depth += 1
        try:
            yield
        except BaseException:
            self.depth -= 1
            if self.depth == 0:
                self.callbacks.clear()
            raise
        self.depth -= 1
        if self.depth == 0:
            self.committed = True
            callbacks, self.callbacks = self.callbacks, []
            for callback in callbacks:
                callback()

    def on_commit(self, callback) -> None:
        self.callbacks.append(callback)


def _run(source: str, fail: bool) -> tuple[object, list[tuple[int, bool]]]:
    transaction = FakeTransactions()
    enqueued: list[tuple[int, bool]] = []  # (order id, committed when enqueued)
    task = types.SimpleNamespace(delay=lambda order_id: enqueued.append((order_id, transaction.committed)))
    code = source.replace("from django.db import transaction\n", "").replace("from shop.tasks import send_receipt\n", "")
    namespace = {"transaction": transaction, "send_receipt": task}
    exec(compile(code, "shop.py", "exec"), namespace)
    try:
        result: object = namespace["checkout"]({"id": 7, "status": "new"}, fail=fail)
    except RuntimeError as exc:
        result = str(exc)
    return result, enqueued


def test_fix_enqueues_after_commit_and_never_on_rollback() -> None:
    assert [f.code for f in lint(SOURCE, "SL103")] == ["SL103"]
    fixed = fix(SOURCE, "SL103", unsafe=True)
    assert "transaction.on_commit(lambda: send_receipt.delay(order[\"id\"]))" in fixed
    assert fix(fixed, "SL103", unsafe=True) == fixed and lint(fixed, "SL103") == []
    assert fix(SOURCE, "SL103") == SOURCE  # unsafe: not applied by a plain --fix
    assert _run(SOURCE, fail=False) == (7, [(7, False)])  # enqueued before the commit
    assert _run(fixed, fail=False) == (7, [(7, True)])  # the worker sees the committed row
    assert _run(SOURCE, fail=True) == ("payment declined", [(7, False)])  # a receipt for a rolled-back payment
    assert _run(fixed, fail=True) == ("payment declined", [])


@pytest.mark.parametrize("body", [
    "    with transaction.atomic():\n        with transaction.atomic():\n            send_receipt.delay(order_id)\n",
    "    with transaction.atomic():\n        for order_id in ids:\n            send_receipt.delay(order_id)\n",
    "    with transaction.atomic():\n        send_receipt.delay(order_id)\n        order_id = None\n",
    "    with transaction.atomic():\n        result = send_receipt.delay(order_id)\n",
])
def test_no_fix_in_savepoints_loops_rebound_names_or_used_results(body: str) -> None:
    source = "from django.db import transaction\n\nfrom shop.tasks import send_receipt\n\n\ndef f(order_id, ids):\n" + body
    assert [f.code for f in lint(source, "SL103")] == ["SL103"]
    assert fix(source, "SL103", unsafe=True) == source
