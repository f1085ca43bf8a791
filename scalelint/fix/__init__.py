"""Rewrites that rules offer as fixes: the scoped-``with`` rewrite of a hold
(``scoping``) and the split of one hold into several (``splitting``). Applying
text edits is ``scalelint.core.edits``."""
