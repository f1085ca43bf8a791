"""SL301: a caller that invalidates covers a write in a helper it calls, but
not one in a view or task, which requests or the queue also reach directly."""
from __future__ import annotations

import pytest

from helpers import lint

SOURCE = '''from django.core.cache import cache
from django.contrib.auth.decorators import login_required
from django.views.decorators.http import require_POST

from shop.models import Shelf


def shelf_view(request, pk):
    key = f"shelf:{{pk}}"
    data = cache.get(key)
    if data is None:
        data = Shelf.objects.get(pk=pk)
        cache.set(key, data, 3600)
    return data


{decorators}
def remove(request, pk):
    shelf = Shelf.objects.get(pk=pk)
    shelf.delete()


@require_POST
def move(request, pk):
    cache.delete(f"shelf:{{pk}}")
    return remove(request, pk)
'''


@pytest.mark.parametrize(("decorators", "reported"), [
    ("", False),  # a helper: its only caller invalidates
    ("@login_required", True),
    ("@login_required\n@require_POST", True),
])
def test_an_invalidating_caller_does_not_cover_a_view(decorators: str, reported: bool) -> None:
    found = lint(SOURCE.format(decorators=decorators), "SL301")
    assert bool(found) is reported, found
