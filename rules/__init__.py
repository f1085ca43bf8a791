"""The built-in rule pack, loaded through the registry like any plugin."""
from scalelint.rules.connections import UnscopedConnection
from scalelint.rules.suppression import BlanketSuppression, UnusedSuppression

RULES = [
    BlanketSuppression,
    UnusedSuppression,
    UnscopedConnection,
]
