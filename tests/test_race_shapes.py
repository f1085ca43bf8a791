"""The model's questions behind SL202's evidence: which conditions only ask whether
rows exist, which models run project code when saved, and how a check and its
write are classified."""
from __future__ import annotations

import textwrap

import libcst as cst

from helpers import lint
from scalelint.model.flow.dataflow import Cond
from scalelint.model.module import ModuleModel
from scalelint.model.ormmodels import ModelIndex, model_facts


def _cond(test: str) -> Cond:
    return Cond("k", None, cst.parse_expression(test))


def test_a_comparison_with_zero_or_one_only_asks_whether_rows_exist() -> None:
    for test in ("qs.count() >= 1", "len(rows) == 0", "n > 0 and m != 0", "not total < 1"):
        assert _cond(test).presence, test
    for test in ("qs.count() >= capacity", "taken >= 20", "n > 0 and n < limit", "rows", "x is None"):
        assert not _cond(test).presence, test


def _models(source: str) -> ModelIndex:
    module = ModuleModel(cst.parse_module(textwrap.dedent(source)), path="app/models.py", module_name="app.models")
    return ModelIndex(model_facts(module))


MODELS = '''
    from django.db import models

    class Base(models.Model):
        def save(self, *args, **kwargs):
            super().save(*args, **kwargs)
            notify(self)

    class Boost(Base):
        user = models.ForeignKey("auth.User", on_delete=models.CASCADE)

    class Plain(models.Model):
        user = models.ForeignKey("auth.User", on_delete=models.CASCADE)

        def clean(self):
            pass

    class Own(models.Model):
        def save(self, *args, **kwargs):
            super().save(*args, **kwargs)
'''


def test_a_save_override_of_the_model_itself_runs_code() -> None:
    """A model's own ``save()`` counts; one inherited from a base every model shares
    (audit fields) does not, nor does another method."""
    models = _models(MODELS)
    assert models.save_runs_code("own") and models.save_runs_code("base")
    assert not models.save_runs_code("boost")
    assert not models.save_runs_code("plain") and not models.save_runs_code("unknown")


def test_a_class_of_project_bases_overriding_save_is_published() -> None:
    """``class Boost(ActivityMixin, Status)`` with a ``save()`` and relation fields of a
    project wrapper: its bases are project classes, so it may be a model."""
    models = _models('''
        from app.base import Status

        class Boost(Status):
            def save(self, *args, **kwargs):
                super().save(*args, **kwargs)

        class Helper(Status):
            def render(self):
                pass
    ''')
    assert models.save_runs_code("boost") and not models.save_runs_code("helper")


VIEWS = '''
    from django.views import View
    from app.models import Boost, Wallet

    class BoostView(View):
        def post(self, request, status_id):
            if Boost.objects.filter(status_id=status_id, user=request.user).exists():
                return None
            Boost.objects.create(status_id=status_id, user=request.user)

    class PayView(View):
        def post(self, request, wallet_id, amount):
            wallet = Wallet.objects.get(pk=wallet_id)
            if wallet.balance >= amount:
                wallet.balance -= amount
                wallet.save()
'''


def test_a_write_consuming_the_check_is_high_a_bare_duplicate_lookup_low() -> None:
    """The models live in another module (unknown here): the lookup's insert has no
    known save() override, so it is a duplicate only (low); the balance is consumed (high)."""
    source = textwrap.dedent(VIEWS)
    high = {f.line for f in lint(source, "SL202", path="app/views.py")}
    every = {f.line for f in lint(source, "SL202", path="app/views.py", min_confidence="low")}
    assert high == {16} and every == {9, 16}
