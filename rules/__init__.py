"""The built-in rule pack, loaded through the registry like any plugin.

Each family module lists its rules in ``RULES``; this module gathers them on
first access, so that a run needing one family's rules (see
``scalelint.engine.manifest``) imports that family's module alone.
"""
from importlib import import_module
from typing import Any

FAMILIES = ("suppression", "connections", "clients", "caches", "cache_usage", "replicas", "replica_caches")


def __getattr__(name: str) -> Any:
    if name != "RULES":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    rules = [rule for family in FAMILIES for rule in import_module(f"{__name__}.{family}").RULES]
    globals()["RULES"] = rules
    return rules
