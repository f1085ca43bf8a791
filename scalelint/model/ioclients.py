"""Clients whose methods do network I/O (HTTP sessions, cloud SDKs, SMTP,
sockets, job queues), as the catalog knows them: which value constructs one,
and which of its methods leave the process. Shared by every family that asks
whether a call is remote."""
from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from scalelint.model import catalog

if TYPE_CHECKING:
    from scalelint.model.module import ModuleModel

#: constructors of a boto3 session whose ``.client(...)`` builds a cloud client
_BOTO3_SESSIONS = ("boto3.session.Session", "boto3.Session")


def io_client_kind(module: "ModuleModel", value: cst.BaseExpression) -> str | None:
    """The kind of I/O client a value constructs (catalog.IO_CLIENTS), or None."""
    if isinstance(value, cst.Await):
        value = value.expression
    if not isinstance(value, cst.Call):
        return None
    qn = module.qualified(value.func)
    if qn in catalog.IO_CLIENTS:
        return catalog.IO_CLIENTS[qn]
    if isinstance(value.func, cst.Attribute) and value.func.attr.value == "client":
        inner = value.func.value  # boto3.session.Session(...).client("s3")
        if isinstance(inner, cst.Call) and module.qualified(inner.func) in _BOTO3_SESSIONS:
            return "cloud"
    return None


def does_io(kind: str, method: str) -> bool:
    """Whether a method of a client of that kind does I/O."""
    methods = catalog.IO_CLIENT_METHODS[kind]
    if methods is None:
        return method not in catalog.IO_CLIENT_LOCAL and not method.startswith("_")
    return method in methods


def remote_api_class(bases: "list[str]") -> bool:
    """A class deriving (by qualified base) from a client whose methods call a
    remote API: an HTTP session, a cloud client, a catalogued SDK client."""
    return any(
        base in catalog.REMOTE_API_CLIENTS or catalog.IO_CLIENTS.get(base) in ("http", "cloud") for base in bases
    )
