"""Work shared between the rules gives the answers each rule's own pass gave:
one pre-order node list per module, import resolution remembered per node,
the prefilter's word searches shared, and SL104's loop spans placed within
their statement instead of by the whole-file position pass."""
from __future__ import annotations

import textwrap

import libcst as cst

from helpers import rules_for
from scalelint.core.positions import Positions
from scalelint.core.walk import forget_walks, preorder, walk
from scalelint.engine.checker import Checker
from scalelint.engine.prefilter import Prefilter
from scalelint.model.connections import lazyloads
from scalelint.model.module import ModuleModel, Recognition
from scalelint.model.names import ImportTable

SOURCE = textwrap.dedent(
    """
    import redis
    from django.db import connection as c

    client = redis.Redis(host="h")

    class Report:
        def run(self, rows):
            with c.cursor() as cur:
                for row in rows:
                    cur.execute("SELECT %s", [row])
            return [lambda x: x + 1 for _ in rows]

    def helper():
        def inner():
            return client.get("k")
        return inner
    """
)


def test_preorder_is_the_walk_in_its_order() -> None:
    tree = cst.parse_module(SOURCE)
    for into in (True, False):
        forget_walks()
        walked = [id(n) for n in walk(tree, into_functions=into)]
        forget_walks()
        assert [id(n) for n in preorder(tree, into_functions=into)] == walked
        assert [id(n) for n in preorder(tree, into_functions=into)] == walked  # child lists remembered


def test_nodes_of_is_the_walk_filtered_by_exact_type() -> None:
    model = ModuleModel(cst.parse_module(SOURCE), module_name="app.report")
    nodes = list(walk(model.cst))
    assert model.nodes_of(cst.Call) == [n for n in nodes if type(n) is cst.Call]
    assert len(model.nodes_of(cst.Call)) == 4
    both = [n for n in nodes if type(n) in (cst.Call, cst.SimpleString)]
    assert model.nodes_of(cst.Call, cst.SimpleString) == both
    assert model.nodes_of(cst.Global) == []


def test_remembered_resolution_follows_a_later_import() -> None:
    table = ImportTable("app")
    expr = cst.parse_expression("redis.Redis")
    assert table.resolve(expr) is None
    table.add_statement(cst.parse_statement("import redis as redis").body[0])
    assert table.resolve(expr) == "redis.Redis"
    table.add_import_from(cst.parse_statement("from fakeredis import redis").body[0])
    assert table.resolve(expr) == "fakeredis.redis.Redis"
    assert table.resolve(cst.parse_expression("other.thing")) is None


def test_prefilter_matching_is_the_per_rule_search() -> None:
    words = (("cursor", "execute"), (), ("redis",), ("cursor",), ("absent", "Redis"), ("nowhere",))
    prefilter = Prefilter(words)
    for text in (SOURCE, "", "cursor only", "Redis"):
        naive = [i for i, w in enumerate(words) if not w or any(x in text for x in w)]
        assert prefilter.matching(text) == naive


LOOPS = textwrap.dedent(
    """
    from shop.models import Store

    def codes(stores):
        out = []
        for s in Store.objects.filter(open=True):
            out.append(s.region.code)
        names = [t.region.name for t in Store.objects.all()]
        return out, names
    """
)


def _loop_facts(monkeypatch, by_text: bool) -> tuple[dict, int]:
    whole = []
    real_init = Positions.__init__

    def counted(self, *args, **kwargs):
        whole.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(Positions, "__init__", counted)
    if not by_text:
        monkeypatch.setattr(lazyloads, "_by_text", lambda *args: None)
    result = Checker(rules_for("SL104"), Recognition()).check("shop/views.py", LOOPS, module_name="shop.views")
    monkeypatch.undo()
    assert result.error is None
    return result.facts["SL104"], len(whole)


def test_loop_spans_within_their_statement_match_the_text_search(monkeypatch) -> None:
    found, _ = _loop_facts(monkeypatch, by_text=True)
    placed, whole_passes = _loop_facts(monkeypatch, by_text=False)
    assert len(found["loops"]) == 2
    assert placed == found
    assert whole_passes == 0  # the loop's statement alone placed every step


def test_closing_paren_skips_strings_comments_and_escapes() -> None:
    from scalelint.model.spots import _closing_paren

    cases = {
        'f(a, b)': 7,
        'f  (a, (b), [c], {d: e})': 24,
        'f(")", \')\', """)\n)""")': 22,
        'f("\\")", x)': 11,
        'f(x  # a ) in a comment\n  )': 27,
        'f(x  # no newline )': None,
        'f("open': None,
        'f(x': None,
        'f x)': None,
    }
    for text, expected in cases.items():
        assert _closing_paren(text, 1) == expected, text


def test_plain_callee_text_is_the_generated_code() -> None:
    from scalelint.model.spots import _plain_chain

    module = cst.parse_module("")
    for spelled in ("f", "a.b.c", "a .b", "a. b", "(a).b", "a.\\\n    b", "(a.b)"):
        func = cst.parse_expression(spelled + "()").func
        plain = _plain_chain(func)
        assert plain is None or plain == module.code_for_node(func), spelled
        assert (plain is not None) == (spelled in ("f", "a.b.c")), spelled
