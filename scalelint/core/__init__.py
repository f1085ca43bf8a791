"""The vocabulary every room shares: findings and fixes as data, errors, source
positions, text edits, LibCST traversal and lazily compiled patterns. Imports
nothing else from scalelint."""
