"""The run engine: which files (discovery, config), their text (source,
prefilter), one parse each (parsing), the cache, the registry of rules and its
manifest, checking one file (checker), checking many (runner, dispatch) and
the project phase. Everything that schedules work lives here; rules and the
model never import it."""
