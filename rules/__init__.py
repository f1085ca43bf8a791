"""The built-in rule pack, loaded through the registry like any plugin.

Each family module lists its rules in ``RULES``; this module gathers them.
"""
from scalelint.rules import connections, suppression
from scalelint.rules import caches
from scalelint.rules import replicas

RULES = [
    *suppression.RULES,
    *connections.RULES,
    *caches.RULES,
    *replicas.RULES,
]
