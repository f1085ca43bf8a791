"""The connection family's model: what counts as work and how deep helpers
are followed, including the `io-functions` recognition knob."""
from __future__ import annotations

import libcst as cst

from helpers import lint
from scalelint.model.connections.work import work_of
from scalelint.model.module import ModuleModel, Recognition

TX = """
from django.db import transaction
from partners.client import notify_partner
import requests

def level3():
    requests.post("https://x.example")

def level2():
    level3()

def level1():
    level2()

def pay(order):
    with transaction.atomic():
        order.save()
        notify_partner(order)
        level2()
        level1()
"""


def _kinds(source: str, name: str) -> dict[str, str]:
    model = ModuleModel(cst.parse_module(source), module_name="app.mod")
    fn = next(f for f in model.functions if f.name == name)
    return {work_of(fn).classify(call).label: work_of(fn).classify(call).kind for _, call in fn.calls()}


def test_helpers_followed_two_levels_deep() -> None:
    kinds = _kinds(TX, "pay")
    assert kinds["level2()"] == "io"  # level2 -> level3 -> requests.post
    assert kinds["level1()"] != "io"  # three levels: not followed
    assert kinds["notify_partner()"] == "business"


def test_io_functions_config_marks_project_callables() -> None:
    plain = {(f.line, f.code) for f in lint(TX, "SL103")}
    configured = {
        (f.line, f.code)
        for f in lint(TX, "SL103", recognition=Recognition(io_functions=("partners.client.notify_partner",)))
    }
    assert (18, "SL103") not in plain
    assert configured - plain == {(18, "SL103")}


def test_cheap_and_business_calls() -> None:
    source = """
import logging
from app.pricing import calculate_tax
from app.models import Invoice
log = logging.getLogger(__name__)

def f(order, rows):
    log.info("x")
    len(rows)
    ",".join(rows)
    Invoice(order)
    calculate_tax(order)
    order.recalculate()
"""
    assert _kinds(source, "f") == {
        "log.info()": "cheap", "len()": "cheap", "….join()": "cheap", "Invoice()": "cheap",
        "calculate_tax()": "business", "order.recalculate()": "unknown",
    }
