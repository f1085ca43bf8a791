"""Cheap source positions agree with the whole-module position pass."""
from __future__ import annotations

import libcst as cst

from scalelint.core.positions import Positions
from scalelint.core.walk import walk
from scalelint.model.module import ModuleModel
from scalelint.model.source import SourceFile
from scalelint.model.spots import StatementLocator

SOURCE = '''\
import redis

class Views:
    # a comment the method owns
    @staticmethod
    def save(cache, order):
        cache.delete(f"order:{order.id}")
        order.save(); cache.delete(f"order:{order.id}")
        value = (
            cache.get("x"),
        )
        text = """a
b"""
        return value

def other(cache, order):
    cache.delete(f"order:{order.id}")
'''


def _function(module: cst.Module, name: str) -> cst.FunctionDef:
    return next(n for n in walk(module) if isinstance(n, cst.FunctionDef) and n.name.value == name)


def test_a_function_placed_alone_has_the_whole_passes_spans() -> None:
    module = cst.parse_module(SOURCE)
    whole = Positions(module, SOURCE)
    for name in ("save", "other"):
        fn = _function(module, name)
        indent = "    " if name == "save" else ""
        part = Positions.of_part(module, SOURCE, fn, indent)
        assert part is not None
        nodes = list(walk(fn))
        assert nodes and all(part.span(n) == whole.span(n) and part.full_span(n) == whole.full_span(n) for n in nodes)
        assert not part.has(module.body[0])


def test_a_part_is_not_placed_at_a_wrong_indentation_or_twice() -> None:
    module = cst.parse_module(SOURCE)
    assert Positions.of_part(module, SOURCE, _function(module, "save"), "") is None
    twice = SOURCE + "\n" + SOURCE[SOURCE.index("def other"):]
    module = cst.parse_module(twice)
    assert Positions.of_part(module, twice, _function(module, "other"), "") is None


def test_repeated_calls_within_a_function_get_their_own_spans_without_the_whole_pass() -> None:
    module = cst.parse_module(SOURCE)
    model = ModuleModel(module, path="t.py", module_name="t")
    source = SourceFile("t.py", SOURCE, module, model)
    fn = _function(module, "save")
    deletes = [n for n in walk(fn) if isinstance(n, cst.Call) and module.code_for_node(n.func) == "cache.delete"]
    assert len(deletes) == 2
    spans = [source.location(call, within=fn) for call in deletes]
    assert "positions" not in source.__dict__  # answered by the function alone
    whole = SourceFile("t.py", SOURCE, module, model)
    assert spans == [whole._line_col(whole.positions.span(c)[0]) + whole._line_col(whole.positions.span(c)[1])
                     for c in deletes]
    assert spans[0][:2] == (7, 9) and spans[1][:2] == (8, 23)


def test_a_statement_line_is_located_from_its_first_statement() -> None:
    module = cst.parse_module(SOURCE)
    fn = _function(module, "save")
    line = fn.body.body[1]  # ``order.save(); cache.delete(...)``
    assert isinstance(line, cst.SimpleStatementLine)
    call = line.body[1].value
    locator = StatementLocator(module, SOURCE)
    assert locator.start(line) == locator.start(line.body[0]) == SOURCE.index("order.save()")
    assert locator.locate(call, line) == (8, 23, 8, 56)


def test_a_statements_line_comes_from_the_statement_locator() -> None:
    module = cst.parse_module(SOURCE)
    model = ModuleModel(module, path="t.py", module_name="t")
    source = SourceFile("t.py", SOURCE, module, model)
    fn = _function(module, "save")
    statements = [*fn.body.body, module.body[0], module.body[1], fn]  # a decorated def: the def's line
    lines = [source.line_of(stmt) for stmt in statements]
    assert "positions" not in source.__dict__
    whole = SourceFile("t.py", SOURCE, module, model)
    assert lines == [whole.positions.line_col(whole.positions.span(s)[0])[0] for s in statements]
    assert lines[-1] == 6


def _plain_walk(node: cst.CSTNode) -> list[cst.CSTNode]:
    from scalelint.core.walk import _child_list

    out = [node]
    for child in _child_list(node):
        out.extend(_plain_walk(child))
    return out


def test_remembered_child_lists_walk_as_a_fresh_traversal_and_go_with_the_file() -> None:
    from scalelint.core import walk as walking

    module = cst.parse_module(SOURCE)
    model = ModuleModel(module, path="t.py", module_name="t")
    fn = _function(module, "save")
    for _ in range(2):  # the second walk reads the remembered lists
        assert list(walk(module)) == _plain_walk(module)
        assert list(walk(fn)) == _plain_walk(fn)
    changed = fn.with_changes(body=fn.body.with_changes(body=fn.body.body[:1]))  # a new node, new children
    assert list(walk(changed)) == _plain_walk(changed)
    assert walking._WALKED
    model.release()
    assert not walking._WALKED


def test_a_parenthesized_node_is_located_without_its_parentheses_as_the_whole_pass_has_it() -> None:
    text = "def f(db):\n    rows = (\n        db.query(1)\n        .all()\n    )\n    return rows\n"
    module = cst.parse_module(text)
    line = _function(module, "f").body.body[0]
    call = line.body[0].value
    assert call.lpar
    model = ModuleModel(module, path="t.py", module_name="t")
    whole = SourceFile("t.py", text, module, model)
    start, end = whole.positions.span(call)
    assert StatementLocator(module, text).locate(call, line) == (*whole._line_col(start), *whole._line_col(end)) == (3, 9, 4, 15)


TRICKY = '''\
import functools


def handler(db, cache, ids):
    for i in ids:
        cache.delete(f"k:{i}")
        db.save(i)
    if ids:
        cache.delete(f"k:{i}")
        db.save(i)

    @functools.wraps(handler)
    # a comment between decorator and def
    def inner(x):
        db.save(i)
        return [
            cache.get(f"k:{j}")
            for j in x
        ]
    rows = (
        db.query(1)
        .all()
    ); db.save(i)
    with db.begin() as tx: db.save(i)
    return inner


def handler(db, cache, ids):
    for i in ids:
        cache.delete(f"k:{i}")
        db.save(i)
    if ids:
        cache.delete(f"k:{i}")
        db.save(i)

    @functools.wraps(handler)
    # a comment between decorator and def
    def inner(x):
        db.save(i)
        return [
            cache.get(f"k:{j}")
            for j in x
        ]
    rows = (
        db.query(1)
        .all()
    ); db.save(i)
    with db.begin() as tx: db.save(i)
    return inner
'''


def _statements(module: cst.Module) -> list[cst.CSTNode]:
    return [n for n in walk(module) if isinstance(n, (cst.BaseStatement, cst.BaseSmallStatement))]


def test_nodes_placed_within_their_statement_have_the_whole_passes_spans() -> None:
    # two identical functions: no statement's code occurs once, each is placed where CPython's tree starts it
    module = cst.parse_module(TRICKY)
    model = ModuleModel(module, path="t.py", module_name="t")
    source = SourceFile("t.py", TRICKY, module, model)
    whole = Positions(module, TRICKY)
    pairs = [(node, stmt) for stmt in _statements(module) for node in walk(stmt)]
    assert len(pairs) > 300
    spans = [source.span(node, within=stmt) for node, stmt in pairs]
    lines = [source.line_of(node, within=stmt) for node, stmt in pairs]
    assert "positions" not in source.__dict__  # no whole-module pass
    assert spans == [whole.span(node) for node, _ in pairs]
    assert lines == [whole.line_col(whole.span(node)[0])[0] for node, _ in pairs]


def test_a_repeated_part_is_placed_only_where_it_starts() -> None:
    module = cst.parse_module(TRICKY)
    whole = Positions(module, TRICKY)
    second = module.body[2]
    assert isinstance(second, cst.FunctionDef)
    start = whole.span(second)[0]
    assert Positions.of_part(module, TRICKY, second, "") is None  # its code occurs twice
    placed = Positions.of_part(module, TRICKY, second, "", at=start)
    assert placed is not None and all(placed.span(n) == whole.span(n) for n in walk(second))
    assert Positions.of_part(module, TRICKY, second, "", at=start + 1) is None
    assert Positions.of_part(module, TRICKY, second, "    ", at=start) is None


VIEWS = '''\
from django.shortcuts import render
from shop.models import Order
from shop.mail import notify


def first(request, pk):
    order = Order.objects.get(pk=pk)
    order.save()
    notify(order)
    return render(request, "x.html", {"order": order})


def second(request, pk):
    order = Order.objects.get(pk=pk)
    order.save()
    notify(order)
    return render(request, "x.html", {"order": order})


def third(request):
    return [
        (Order.objects.filter(pk=i).exists(), Order.objects.get(pk=i))
        for i in request.GET.getlist("ids")
    ]
'''


def _counting_whole_passes(monkeypatch) -> list[int]:
    count: list[int] = []
    built = Positions.__init__

    def counted(self, *args, **kwargs) -> None:
        count.append(1)
        built(self, *args, **kwargs)

    monkeypatch.setattr(Positions, "__init__", counted)
    return count


def test_view_facts_and_a_loops_line_need_no_whole_module_pass(monkeypatch) -> None:
    from helpers import rules_for
    from scalelint.engine.checker import Checker
    from scalelint.model.module import Recognition

    passes = _counting_whole_passes(monkeypatch)
    result = Checker(rules_for("SL103"), Recognition()).check("shop/views.py", VIEWS)
    assert result.error is None and not passes
    calls = result.facts["SL103"]["view_calls"]  # the writes and the calls occur twice in the file
    assert [(c[2][0], c[4:]) for c in calls] == [(8, [9, 5, 9, 18]), (15, [16, 5, 16, 18])]
    result = Checker(rules_for("SL104"), Recognition()).check("shop/views.py", VIEWS)
    assert result.error is None and not passes
    [finding] = result.findings
    assert "(line 21)" in finding.message and "get(...) (line 22)" in finding.message
