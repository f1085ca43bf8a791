"""SL104's lazy relationship loads: the facts each file publishes stay small,
and the project phase joins loops with models defined in other files."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

from helpers import FIXTURES, lint, lint_tree, rules_for
from scalelint.engine.checker import Checker
from scalelint.model.module import Recognition

MODELS = textwrap.dedent(
    """
    from django.db import models

    class Region(models.Model):
        code = models.CharField(max_length=4)

    class Store(models.Model):
        region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="stores")
    """
)


def _facts(source: str, path: str = "mod.py") -> dict | None:
    result = Checker(rules_for("SL104"), Recognition()).check(path, source, module_name=path[:-3].replace("/", "."))
    assert result.error is None
    return result.facts.get("SL104")


def test_models_file_publishes_only_relationships() -> None:
    facts = _facts(MODELS, "shop/models.py")
    assert facts is not None and "loops" not in facts
    store = next(m for m in facts["models"] if m["c"] == "Store")
    assert store["q"] == "shop.models.Store" and store["orm"] == "django"
    assert store["r"] == [{"n": "region", "k": "fk", "t": "Region", "tq": "shop.models.Region", "rn": "stores"}]
    json.dumps(facts)


def test_no_facts_for_loops_over_other_things() -> None:
    source = textwrap.dedent(
        """
        def totals(session, rows, items):
            for row in rows:
                print(row.region.code)
            return [i.store.region for i in items.values()]
        """
    )
    assert _facts(source) is None


def test_loop_record_is_compact() -> None:
    source = textwrap.dedent(
        """
        from shop.models import Store

        def codes():
            return [s.region.code for s in Store.objects.filter(open=True)]
        """
    )
    facts = _facts(source, "shop/views.py")
    assert facts is not None and "models" not in facts
    (record,) = facts["loops"]
    assert (record["m"], record["mq"], record["orm"], record["var"]) == ("Store", "shop.models.Store", "django", "s")
    assert [names for names, _, _ in record["acc"]] == [["region", "code"]]


def test_model_defined_nowhere_is_silent() -> None:
    source = textwrap.dedent(
        """
        from shop.models import Store

        def codes():
            return [s.region.code for s in Store.objects.all()]
        """
    )
    assert lint(source, "SL104", min_confidence="low") == []


def test_reverse_accessor_across_files(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "models.py").write_text(MODELS)
    (tmp_path / "shop" / "report.py").write_text(textwrap.dedent(
        """
        from shop.models import Region

        def sizes():
            return {r.code: r.stores.count() for r in Region.objects.all()}

        def sizes_prefetched():
            return {r.code: r.stores.count() for r in Region.objects.prefetch_related("stores")}
        """
    ))
    found = lint_tree(tmp_path, "SL104")
    assert [(Path(f.path).name, f.line) for f in found] == [("report.py", 5)]
    assert 'prefetch_related("stores")' in found[0].message


def test_nested_loop_messages_name_the_query_that_can_load() -> None:
    source = (FIXTURES / "SL104" / "flagged_lazy_nested.py").read_text()
    messages = {f.line: f.message for f in lint(source, "SL104", path="nested.py", min_confidence="low")}
    assert "add `select_related(\"product\")` to the queryset" in messages[22]
    assert "`.options(selectinload(Author.books).selectinload(Book.publisher))`" in messages[66]


def test_one_finding_per_loop_names_every_relation() -> None:
    found = [f for f in lint_tree(FIXTURES / "SL104" / "lazy_shop", "SL104") if f.path.endswith("views.py")]
    audit = [f for f in found if f.line in (13, 14)]
    assert [f.line for f in audit] == [13]
    assert "`product.created_by`" in audit[0].message
    assert "the loop also lazy-loads `product.variants` (line 14)" in audit[0].message


def test_one_finding_per_loop_names_every_query() -> None:
    source = textwrap.dedent(
        """
        from django.db import models

        class Order(models.Model):
            pass

        class Line(models.Model):
            pass

        def totals(customers):
            for c in customers:
                Order.objects.filter(customer=c).count()
                Line.objects.filter(order__customer=c).count()
                Order.objects.filter(customer=c).delete()
            for c in customers:
                Line.objects.filter(order__customer=c).exists()
        """
    )
    found = lint(source, "SL104", min_confidence="low")
    assert [f.line for f in found] == [12, 16]
    assert found[0].message.endswith(
        "the loop also runs Line.objects.filter(...).count() (line 13), Order.objects.filter(...).delete() (line 14)"
    )
    assert "also" not in found[1].message


def test_one_finding_per_loop_points_at_the_others() -> None:
    found = lint_tree(FIXTURES / "SL104" / "lazy_shop", "SL104")
    audit = next(f for f in found if f.path.endswith("views.py") and f.line == 13)
    assert [(r.line, r.message) for r in audit.related] == [(14, "`product.variants` lazy-loads too")]
    source = textwrap.dedent(
        """
        from django.db import models

        class Order(models.Model):
            pass

        def totals(customers):
            for c in customers:
                Order.objects.filter(customer=c).count()
                Order.objects.filter(customer=c).delete()
        """
    )
    [found] = lint(source, "SL104", min_confidence="low")
    assert [(r.line, r.message) for r in found.related] == [(10, "Order.objects.filter(...).delete() runs per iteration too")]
