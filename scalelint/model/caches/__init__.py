"""The caches family's model (SL3xx): cache clients and calls (``caching``),
key templates (``cachekeys``), one file's cache facts (``cachefacts``) and the
project-wide key index (``cacheindex``)."""
