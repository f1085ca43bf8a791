"""The semantic model shared by every rule: names resolved to qualified
names, resources (connections, cursors, sessions, transactions, caches)
recognised through one library catalog, and per-function facts."""
