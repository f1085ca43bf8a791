"""Framework settings as a settings module spells them: a literal, or the
fallback of an environment read (``config("X", default="...")``,
``env.str("X", "...")``, ``os.getenv("X", "...")``) — the value a deployment
gets unless it overrides it. Which calls read the environment is catalog
knowledge."""
from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from scalelint.model import catalog
from scalelint.core.walk import string_value

if TYPE_CHECKING:
    from scalelint.model.module import ModuleModel


def setting_text(module: "ModuleModel", value: cst.BaseExpression) -> str | None:
    """The text a setting is given here: the literal, or an environment read's default."""
    text = string_value(value)
    if text is not None or not isinstance(value, cst.Call):
        return text
    default = _env_default(module, value)
    return string_value(default) if default is not None else None


def _env_default(module: "ModuleModel", call: cst.Call) -> cst.BaseExpression | None:
    """The fallback an environment read passes (None: not such a read, or none given)."""
    position = _default_position(module, call.func)
    if position is False:
        return None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == catalog.ENV_DEFAULT_KEYWORD:
            return arg.value
    positional = [a.value for a in call.args if a.keyword is None]
    if isinstance(position, int) and position < len(positional):
        return positional[position]
    return None


def _default_position(module: "ModuleModel", func: cst.BaseExpression) -> int | None | bool:
    """Where an environment read takes its default positionally (None: by
    keyword only), or False when the call is not an environment read."""
    qn = module.qualified(func)
    if qn in catalog.ENV_READERS:
        return catalog.ENV_READERS[qn]
    # an instance of an environment reader class: ``env("X", default=...)``, ``env.str("X", "...")``
    receiver, method = (func.value, func.attr.value) if isinstance(func, cst.Attribute) else (func, None)
    if not isinstance(receiver, cst.Name):
        return False
    bound = module.global_values.get(receiver.value)
    if not isinstance(bound, cst.Call) or module.qualified(bound.func) not in catalog.ENV_READER_CLASSES:
        return False
    return None if method is None else 1


