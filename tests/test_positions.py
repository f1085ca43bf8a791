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
