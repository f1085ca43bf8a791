"""Early returns on a parameter, and the literal arguments calls pass (argument-sensitive
call graph, SL101/SL103).

``def save(self, broadcast=True, **kwargs): super().save(**kwargs); if not broadcast: return; ...``
does nothing after its guard when a caller passes ``broadcast=False``. The file phase
records, per function, its guards (a top-level ``if`` on a parameter's truth whose body
only returns), and per project call the literal truth values it passes by keyword and
whether it forwards the function's own keyword arguments (``**kwargs``, ``p=p``); the
call graph (``summaries.CallGraph``) uses them to leave out effects a literal argument
cannot reach.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import libcst as cst

from scalelint.model.dbops import literal_truth

if TYPE_CHECKING:
    from scalelint.model.function import FunctionModel, Stmt

#: at most this many calls of one target are recorded per function
MAX_CALLS = 4


def literal_kwargs(call: cst.Call) -> dict[str, bool]:
    """The keyword arguments a call passes as literals, by truth (``broadcast=False`` -> False)."""
    out: dict[str, bool] = {}
    for arg in call.args:
        if arg.keyword is not None and (truth := literal_truth(arg.value)) is not None:
            out[arg.keyword.value] = truth
    return out


def guards(fn: "FunctionModel") -> list[list[Any]]:
    """``[param, truth, ordinal]`` for each top-level ``if`` that only returns and fires when
    the parameter has that truth (``if not p: return``, ``if not p or other: return``)."""
    names = _params(fn.node)[0]
    out: list[list[Any]] = []
    for stmt in fn.stmts:
        node = stmt.node
        if stmt.context or not isinstance(node, cst.If) or node.orelse is not None or not _only_returns(node.body):
            continue
        for param, truth in _firing(node.test):
            if param in names:
                out.append([param, truth, stmt.ordinal])
    return out


def call_record(fn: "FunctionModel", stmt: "Stmt", call: cst.Call) -> list[Any]:
    """``[ordinal, literal kwargs, forwards **kwargs, params passed through by name]``."""
    names, var_kw = _params(fn.node)
    forwards = var_kw is not None and any(
        arg.star == "**" and isinstance(arg.value, cst.Name) and arg.value.value == var_kw for arg in call.args
    )
    through = [arg.keyword.value for arg in call.args if arg.keyword is not None and isinstance(arg.value, cst.Name)
               and arg.value.value == arg.keyword.value and arg.value.value in names]
    return [stmt.ordinal, literal_kwargs(call), forwards, through]


def passes_anything(record: list[Any]) -> bool:
    """The call passes a literal, or forwards the function's keyword arguments."""
    return bool(record[1] or record[2] or record[3])


def keyword_names(node: cst.FunctionDef) -> set[str]:
    """The parameters a caller can pass by keyword (not collected by ``**kwargs``)."""
    return _params(node)[0]


def _params(node: cst.FunctionDef) -> tuple[set[str], str | None]:
    """The names a caller can pass by keyword, and the ``**kwargs`` name."""
    params = node.params
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    star_kwarg = params.star_kwarg
    return names, star_kwarg.name.value if star_kwarg is not None else None


def _only_returns(body: cst.BaseSuite) -> bool:
    """The ``if`` body is nothing but ``return ...``."""
    if isinstance(body, cst.IndentedBlock):
        if not all(isinstance(line, cst.SimpleStatementLine) for line in body.body):
            return False
        smalls = [small for line in body.body for small in line.body]  # type: ignore[attr-defined]
    else:
        smalls = list(getattr(body, "body", ()))
    return bool(smalls) and all(isinstance(small, cst.Return) for small in smalls)


def _firing(test: cst.BaseExpression) -> list[tuple[str, bool]]:
    """(param, truth) pairs each of which alone makes the test true."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.Or):
        return [*_firing(test.left), *_firing(test.right)]
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not) and isinstance(test.expression, cst.Name):
        return [(test.expression.value, False)]
    if isinstance(test, cst.Name):
        return [(test.value, True)]
    return []
