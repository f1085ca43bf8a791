"""SL104's Django eager-loading fix run for real: Django on an in-memory
sqlite database, before and after the fix (``select_related`` for a foreign
key, ``prefetch_related`` for a many-to-many). Same results in the same order,
and the loop's per-row queries become one join or one batched load."""
from __future__ import annotations

import sys
import types

import pytest

from helpers import fix

django = pytest.importorskip("django")

MODELS = '''\
from django.db import models


class Customer(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        app_label = "shop"


class Tag(models.Model):
    label = models.CharField(max_length=50)

    class Meta:
        app_label = "shop"


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    tags = models.ManyToManyField(Tag)

    class Meta:
        app_label = "shop"
'''

VIEWS = '''

def names():
    shown = []
    # one line per order, with who placed it
    for order in Order.objects.order_by("id"):
        shown.append(f"{order.id}:{order.customer.name}")
    return shown


def labels():
    shown = []
    for order in Order.objects.order_by("id"):  # every order's tags
        shown.append(sorted(t.label for t in order.tags.all()))
    return shown
'''
SOURCE = MODELS + VIEWS


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """Django configured once with the models in a tiny installed app, its tables created and filled."""
    from django.conf import settings

    if settings.configured:
        pytest.skip("Django is already configured by another test")
    root = tmp_path_factory.mktemp("django")
    (root / "shop").mkdir()
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "models.py").write_text(MODELS)
    sys.path.insert(0, str(root))
    try:
        settings.configure(DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
                           INSTALLED_APPS=["shop"], USE_TZ=True)
        django.setup()
        from django.db import connection
        from shop import models

        with connection.schema_editor() as editor:
            for model in (models.Customer, models.Tag, models.Order):
                editor.create_model(model)
        customers = [models.Customer.objects.create(name=f"c{i}") for i in range(1, 6)]
        tags = [models.Tag.objects.create(label=f"t{i}") for i in range(1, 4)]
        for n in range(1, 21):
            order = models.Order.objects.create(customer=customers[n % 5])
            order.tags.set(tags[: 1 + n % 3])
        yield models
    finally:
        sys.path.remove(str(root))


def _run(source: str, models: types.ModuleType, name: str) -> tuple[list, int]:
    """A view function's result (run against the shared models), and the queries it ran."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    views = types.ModuleType("shop_views")
    views.__dict__.update(Customer=models.Customer, Tag=models.Tag, Order=models.Order)
    exec(compile(source.replace(MODELS, ""), "views.py", "exec"), views.__dict__)
    with CaptureQueriesContext(connection) as queries:
        result = getattr(views, name)()
    return result, len(queries.captured_queries)


def test_the_fixed_loops_give_the_same_results_with_fewer_queries(shop) -> None:
    fixed = fix(SOURCE, "SL104", unsafe=True, path="views.py")
    assert fixed.startswith(MODELS)  # the models are untouched, so both versions share the tables
    assert 'Order.objects.order_by("id").select_related("customer")' in fixed
    assert 'Order.objects.order_by("id").prefetch_related("tags")' in fixed
    assert "# one line per order, with who placed it" in fixed and "# every order's tags" in fixed

    before, queries_before = _run(SOURCE, shop, "names")
    after, queries_after = _run(fixed, shop, "names")
    assert after == before and len(before) == 20
    assert queries_before == 1 + 20  # the orders, then one customer per order
    assert queries_after == 1  # one SELECT joining the customers

    before, queries_before = _run(SOURCE, shop, "labels")
    after, queries_after = _run(fixed, shop, "labels")
    assert after == before and len(before) == 20
    assert queries_before == 1 + 20  # the orders, then one tag query per order
    assert queries_after == 2  # the orders, then every order's tags in one SELECT ... IN
    assert fix(fixed, "SL104", unsafe=True, path="views.py") == fixed
