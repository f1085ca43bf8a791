"""What a request module that is never parsed may call, read from its text.

A file in which no rule's vocabulary appears is answered without a parse
(scalelint.engine.prefilter), so it publishes no call summaries; yet it may
call a project helper. Its call-graph record (``summaries``) then holds only
the names it imports (``refs``) and the method names it calls (``dyn``): the
project phase treats every one of them as a caller it cannot place, so a
helper it may reach keeps the ``request`` context
(scalelint.model.connections.callers). Regular expressions only: this runs
in the main process, before any parse.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterable, Iterator

from scalelint.core.findings import FileResult, facts_digest

#: the call-graph fact family (scalelint.model.connections.summaries.FACTS_KEY)
FACTS_KEY = "summaries"

_FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)", re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([\w. \t,]+)", re.M)
_METHOD_CALL = re.compile(r"\.[ \t]*([A-Za-z_]\w*)[ \t]*\(")


def text_uses(text: str, module: str, package: bool, context: str = "request") -> dict[str, Any] | None:
    """The record of an unparsed module named ``module`` (``package``: an
    ``__init__.py``), or None when it has no dotted name or uses nothing.
    Request code records what it may use (``refs``, ``dyn``); code of another
    ``context`` (a test, a command) is taken to call what it imports, from
    one pseudo-function ``<module>``, and (but in a test) the methods it calls
    on instances it builds of the classes it imports."""
    if not module:
        return None
    refs = _imported_uses(text, module, package)
    facts: dict[str, Any] = {"module": module}
    byname = enqueued_by_name(text)
    if context != "request":
        if refs or byname:
            facts["context"] = context
        if refs:
            # a test's calls on instances are weak evidence of where code runs (tests
            # exercise request code whose real callers, a framework's, are unseen)
            methods = _method_refs(text, module, package) if context != "test" else []
            facts["functions"] = {MODULE_CODE: [1, None, refs + methods, None, 1, ""]}
    else:
        facts["refs"] = refs
        facts["dyn"] = list(dict.fromkeys(_METHOD_CALL.findall(text)))
    facts["byname"] = byname
    facts = {key: value for key, value in facts.items() if value}
    return facts if len(facts) > 1 else None


def _method_refs(text: str, module: str, package: bool) -> list[str]:
    """``Class.method`` for each method the text calls on an instance of an
    imported class it builds (``process = BugProcess(); process.run()``,
    ``BugProcess().run()``). Only calls on such an instance count: pairing every
    imported class with every method name called would invent callers, and a
    helper whose request callers go through ``self`` would then look as if
    only this command called it."""
    classes = {local: dotted for local, dotted in _imports(text, module, package).items() if local[:1].isupper()}
    if not classes:
        return []
    body = without_imports(text)
    out: dict[str, None] = {}
    for local, dotted in classes.items():
        built = re.escape(local) + r"[ \t]*\([^()\n]*\)"
        for method in re.findall(built + r"[ \t]*\.[ \t]*([A-Za-z_]\w*)[ \t]*\(", body):
            out.setdefault(f"{dotted}.{method}", None)
        for name in set(re.findall(r"(?<![\w.])([A-Za-z_]\w*)[ \t]*=[ \t]*" + built, body)):
            for method in re.findall(r"(?<![\w.])" + re.escape(name) + r"[ \t]*\.[ \t]*([A-Za-z_]\w*)[ \t]*\(", body):
                out.setdefault(f"{dotted}.{method}", None)
    return list(out)


#: what makes part of a request module's text an entry point of another context, seen
#: without a parse: a CLI command decorator, a command-line parser, the process's
#: arguments, a ``__main__`` block (scalelint.model.entrypoints places them)
_OTHER_ENTRY = re.compile(
    r"^[ \t]*@[\w.]*\b(?:command|group)\b|\b(?:ArgumentParser|OptionParser)[ \t]*\(|\bsys\.argv\b"
    r"|\b__name__[ \t]*==[ \t]*[\"']__main__", re.M,
)


def runs_elsewhere(text: str) -> bool:
    """Whether a request module may hold entry points of another context (a CLI
    command, a command-line main): then it is parsed even when no rule's vocabulary
    appears in it, so that the helpers only those call take their context
    (scalelint.model.connections.callers) instead of staying pinned to requests by
    a record read from the text."""
    return _OTHER_ENTRY.search(text) is not None


def enqueued_by_name(text: str) -> list[list[Any]]:
    """[name, line] of each task the text enqueues by its registered name
    (``enqueue_job("org.backfill", ...)``: scalelint.model.tasknames)."""
    from scalelint.model import catalog  # data only; imported when first needed

    if not any(call in text for call in catalog.ENQUEUE_BY_NAME_CALLS):
        return []
    pattern = _enqueue_pattern(tuple(sorted(catalog.ENQUEUE_BY_NAME_CALLS)))
    return [[m.group(1), text.count("\n", 0, m.start()) + 1] for m in pattern.finditer(text)]


@lru_cache(maxsize=4)
def _enqueue_pattern(calls: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(calls) + r")[ \t]*\([ \t\n]*[\"']([\w.:-]+)[\"']")


#: the pseudo-function standing for the code of an unparsed module
MODULE_CODE = "<module>"


def _imported_uses(text: str, module: str, package: bool) -> list[str]:
    """Dotted names the text imports, and ``alias.name`` uses of what it imports."""
    imported = _imports(text, module, package)
    uses: dict[str, None] = {}
    seen: set[str] = set()
    for local, attribute, _ in name_uses(without_imports(text), imported):
        seen.add(local)
        dotted = imported[local]
        uses.setdefault(f"{dotted}.{attribute}" if attribute else dotted, None)
    for local, dotted in imported.items():
        if local not in seen:  # imported and not used here: re-exported, perhaps used elsewhere
            uses.setdefault(dotted, None)
    return list(uses)


def _imports(text: str, module: str, package: bool) -> dict[str, str]:
    """Local name -> the dotted name it imports."""
    imported: dict[str, str] = {}  # local name -> dotted
    for source, names in _FROM_IMPORT.findall(text):
        base = _absolute(source, module, package)
        for name in names.strip("()").replace("\n", " ").replace("\\", " ").split(","):
            name, _, alias = (part.strip() for part in name.strip().partition(" as "))
            if name and name != "*" and name.isidentifier():
                imported[alias or name] = f"{base}.{name}" if base else name
    for names in _IMPORT.findall(text):
        for name in names.split(","):
            name, _, alias = (part.strip() for part in name.strip().partition(" as "))
            if name:
                imported[alias or name.split(".")[0]] = name if alias else name.split(".")[0]
    return imported


def without_imports(text: str) -> str:
    """The text with its import statements left out."""
    return _IMPORT.sub("", _FROM_IMPORT.sub("", text))


#: a name starting a chain, the attribute after it, and an opening parenthesis after them
_CHAIN = re.compile(r"(?<![\w.])([A-Za-z_]\w*)(?:[ \t]*\.[ \t]*([A-Za-z_]\w*))?([ \t]*\()?")


def name_uses(text: str, names: Iterable[str]) -> Iterator[tuple[str, str, bool]]:
    """(name, the attribute after it or "", whether the chain is called) for
    each use of one of these names starting a chain (``views.export(`` ->
    ``("views", "export", True)``): one pass over the text."""
    wanted = set(names)
    if not wanted:
        return
    for head, attribute, call in _CHAIN.findall(text):
        if head in wanted:
            yield head, attribute, bool(call)


def _absolute(source: str, module: str, package: bool) -> str:
    """``from ..x import y`` in ``module``: the dotted name of ``..x``."""
    level = len(source) - len(source.lstrip("."))
    if not level:
        return source
    parts = module.split(".")
    keep = len(parts) - level + (1 if package else 0)
    base = ".".join(parts[:max(keep, 0)])
    rest = source[level:]
    return f"{base}.{rest}" if base and rest else base or rest


def note_text_uses(result: FileResult, text: str, module: str, context: str = "request") -> None:
    """Add the record of a file answered without a parse to its result."""
    package = result.path.replace("\\", "/").rsplit("/", 1)[-1] == "__init__.py"
    published = text_uses(text, module, package, context)
    if published:
        result.facts[FACTS_KEY] = published
        result.facts_digest = facts_digest(result.facts)
