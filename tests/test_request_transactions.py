"""Pyramid's request transaction (pyramid_tm): what includes it, which functions are
its views, and what writes through or ends it (scalelint.model.connections.requesttx)."""
from __future__ import annotations

import libcst as cst

from scalelint.model.connections.requesttx import (
    ends_request_transaction, pyramid_tm_includes, pyramid_view, request_session,
)
from scalelint.model.connections.writes import session_write
from scalelint.model.module import ModuleModel

SOURCE = '''
import transaction
import requests
from pyramid.view import view_config


def includeme(config):
    config.include("pyramid_tm")
    config.include("pyramid_retry")
    settings.include("pyramid_tm_extras")


@view_config(route_name="a")
def view(request):
    request.dbsession.add(x)
    self.request.db.flush()
    request.session.flash("saved")
    http = requests.Session()
    http.headers.update({})
    request.tm.commit()
    transaction.abort()
    db.commit()
    request.tm.get()


def helper(request):
    pass
'''


def _model(source: str = SOURCE) -> ModuleModel:
    return ModuleModel(cst.parse_module(source), module_name="app.views")


def _calls(fn):
    return {cst.Module([]).code_for_node(call.func): call for _, call in fn.calls()}


def test_only_an_include_of_pyramid_tm_itself_counts() -> None:
    model = _model()
    found = [cst.Module([]).code_for_node(call) for call in pyramid_tm_includes(model, SOURCE)]
    assert found == ['config.include("pyramid_tm")']


def test_an_include_in_a_module_without_pyramid_is_not_the_transaction_manager() -> None:
    source = 'def setup(loader):\n    loader.include("pyramid_tm")\n'
    assert list(pyramid_tm_includes(_model(source), source)) == []


def test_views_are_the_view_config_functions_not_helpers_taking_request() -> None:
    fns = {fn.name: fn for fn in _model().functions}
    assert pyramid_view(fns["view"])
    assert not pyramid_view(fns["helper"])


def test_the_request_session_writes_and_the_http_session_does_not() -> None:
    fn = next(fn for fn in _model().functions if fn.name == "view")
    calls = _calls(fn)
    assert session_write(fn, calls["request.dbsession.add"]) == "request.dbsession.add()"
    assert session_write(fn, calls["self.request.db.flush"]) == "self.request.db.flush()"
    assert session_write(fn, calls["request.session.flash"]) is None
    assert session_write(fn, calls["http.headers.update"]) is None
    assert request_session(cst.parse_expression("request.dbsession"))
    assert not request_session(cst.parse_expression("request.session"))
    assert not request_session(cst.parse_expression("dbsession"))


def test_what_ends_the_request_transaction() -> None:
    fn = next(fn for fn in _model().functions if fn.name == "view")
    calls = _calls(fn)
    assert ends_request_transaction(fn, calls["request.tm.commit"])
    assert ends_request_transaction(fn, calls["transaction.abort"])
    assert not ends_request_transaction(fn, calls["db.commit"])
    assert not ends_request_transaction(fn, calls["request.tm.get"])
