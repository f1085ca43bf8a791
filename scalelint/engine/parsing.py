"""The one LibCST parse per file.

LibCST validates every node as it is constructed; trees built by its own
parser are valid by construction, so validation is switched off for the
duration of the parse (about a fifth of parse time). Nodes built later, for
fixes, are validated as usual.
"""
from __future__ import annotations

import libcst as cst
from libcst._nodes.base import CSTNode

_VALIDATING_POST_INIT = CSTNode.__post_init__


def _no_validation(self: CSTNode) -> None:
    return None


def parse_module(text: str) -> cst.Module:
    CSTNode.__post_init__ = _no_validation  # type: ignore[method-assign]
    try:
        return cst.parse_module(text)
    finally:
        CSTNode.__post_init__ = _VALIDATING_POST_INIT  # type: ignore[method-assign]
