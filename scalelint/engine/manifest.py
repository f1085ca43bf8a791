"""Rule metadata without importing the rules.

Importing the rule packs imports LibCST (about 170 ms), which a warm run
answered entirely from the cache never needs. After the first run the
registry's metadata (codes, names, summaries, vocabularies, docs) is kept in
the cache directory, keyed by scalelint's version, the installed rule packs
and the local rule files; rules come back as :class:`LazyRule` objects that
answer the same questions as rule classes and import the real ones only when
a file must actually be checked, and then only the modules of the rules the
file's text can match (``LazyRule.load`` imports the rule's own module by
name, without scanning the installed packs' entry points again).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from scalelint import __version__
from scalelint.core.findings import FixSafety
from scalelint.rule import doc_examples_in, doc_section_in

if TYPE_CHECKING:
    from scalelint.engine.cache import CacheRoot

#: the module name prefix under which a project's local rule files are loaded
LOCAL_RULES_MODULE = "scalelint_local_rules_"


@dataclass(eq=False)
class LazyRule:
    """A rule known by its metadata; ``load()`` gives the class."""

    code: str
    name: str
    summary: str
    vocabulary: tuple[str, ...]
    fix_safety: FixSafety | None
    project_wide: bool
    docs_text: str
    help: str
    #: the importable module defining the class and its qualified name there;
    #: empty for rules that no module name reaches (a project's local rules)
    module: str = ""
    qualname: str = ""
    #: the code contexts the rule checks by default (Rule.contexts)
    contexts: frozenset[str] = frozenset({"request"})
    #: the shared fact families it reads (Rule.shared_facts)
    shared_facts: tuple[str, ...] = ()
    #: numeric options and their defaults (Rule.options)
    options: dict[str, float] = field(default_factory=dict)
    #: the contexts its findings are reported at low confidence in (Rule.low_confidence_contexts)
    low_confidence_contexts: frozenset[str] = frozenset()
    _loader: Callable[[], dict[str, Any]] = field(repr=False, default=lambda: {})

    def docs(self) -> str:
        return self.docs_text

    def doc_section(self, title: str) -> str:
        return doc_section_in(self.docs_text, title)

    def doc_examples(self, title: str) -> list[str]:
        return doc_examples_in(self.docs_text, title)

    def help_uri(self) -> str:
        return self.help

    def load(self):
        if self.module:
            try:
                found: Any = import_module(self.module)
                for part in self.qualname.split("."):
                    found = getattr(found, part)
            except (ImportError, AttributeError):
                found = None  # moved since the metadata was kept: the full load says why
            if getattr(found, "code", None) == self.code:
                return found
        found = self._loader().get(self.code)
        if found is None:
            from scalelint.core.errors import UsageError

            raise UsageError(f"rule {self.code} can no longer be loaded from {self.module or 'its rule pack'}")
        return found

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (for spawned workers) when the module can be imported by name."""
        if not self.module:
            raise TypeError(f"rule {self.code} can only be loaded in this process")
        state = dict(self.__dict__)
        del state["_loader"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._loader = dict  # nothing to fall back on in another process: load() says so


def loadable_anywhere(rules: list) -> list:
    """Rules as a worker process can load them: lazy where a module name
    reaches the class, else the class itself."""
    return [r.load() if isinstance(r, LazyRule) and not r.module else r for r in rules]


def materialize(rules: list) -> list:
    """Rule classes for a mix of classes and lazy rules."""
    return [r.load() if isinstance(r, LazyRule) else r for r in rules]


def fingerprint(local_rules: list[Path], entry_points: list[tuple[str, str]]) -> str:
    parts: list[Any] = [__version__, sorted(entry_points)]
    for path in local_rules:
        target = path / "__init__.py" if path.is_dir() else path
        try:
            stat = os.stat(target)
            parts.append([str(target), stat.st_mtime_ns, stat.st_size])
        except OSError:
            parts.append([str(target), None])
    return hashlib.blake2b(json.dumps(parts).encode(), digest_size=8).hexdigest()


def describe(rule) -> dict[str, Any]:
    module = rule.__module__ if importable_by_name(rule) else ""
    return {
        "code": rule.code,
        "name": rule.name,
        "summary": rule.summary,
        "vocabulary": list(rule.vocabulary),
        "fix_safety": rule.fix_safety.value if rule.fix_safety else None,
        "project_wide": bool(rule.project_wide),
        "docs": rule.docs(),
        "help": rule.help_uri(),
        "module": module,
        "qualname": rule.__qualname__ if module else "",
        "contexts": sorted(rule.contexts),
        "shared_facts": list(rule.shared_facts),
        "options": dict(rule.options),
        "low_contexts": sorted(rule.low_confidence_contexts),
    }


def importable_by_name(rule: type) -> bool:
    """Whether importing the rule's module by name, in any process, gives the
    class back (not so for local rule files, loaded from their path)."""
    return not rule.__module__.startswith((LOCAL_RULES_MODULE, "__main__")) and "<locals>" not in rule.__qualname__


def read(root: "CacheRoot", parts: tuple[str, ...], name: str, loader: Callable[[], dict[str, Any]]) -> tuple[dict[str, LazyRule], dict[str, str]] | None:
    """The rule metadata kept in the cache, or None (missing or malformed)."""
    from scalelint.engine.cache import MALFORMED

    try:
        data = json.loads(root.read(parts, name).decode("utf-8"))
        if not all(_well_formed(item) for item in data["rules"]):
            raise TypeError("rules")
        rules = {
            item["code"]: LazyRule(
                item["code"], item["name"], item["summary"], tuple(item["vocabulary"]),
                FixSafety(item["fix_safety"]) if item["fix_safety"] else None,
                item["project_wide"], item["docs"], item["help"], item["module"], item["qualname"],
                frozenset(item["contexts"]), tuple(item["shared_facts"]), dict(item["options"]),
                frozenset(item.get("low_contexts", ())), loader,
            )
            for item in data["rules"]
        }
        origin = data["origin"]
        if not isinstance(origin, dict) or set(origin) != set(rules) or not all(type(v) is str for v in origin.values()):
            raise TypeError("origin")
        return rules, origin
    except (OSError, *MALFORMED):
        return None


_TEXT_FIELDS = ("code", "name", "summary", "docs", "help", "module", "qualname")


def _well_formed(item: Any) -> bool:
    """Whether a kept rule description has the fields describe() writes, of their types."""
    return (
        all(type(item[key]) is str for key in _TEXT_FIELDS)
        and type(item["project_wide"]) is bool
        and type(item["vocabulary"]) is list
        and all(type(word) is str for word in item["vocabulary"])
        and (item["fix_safety"] is None or type(item["fix_safety"]) is str)
        and type(item["contexts"]) is list
        and all(type(context) is str for context in item["contexts"])
        and type(item["shared_facts"]) is list
        and all(type(family) is str for family in item["shared_facts"])
        and type(item["options"]) is dict
        and all(type(k) is str and type(v) in (int, float) for k, v in item["options"].items())
        and type(item.get("low_contexts", [])) is list
        and all(type(context) is str for context in item.get("low_contexts", []))
    )


def write(root: "CacheRoot", parts: tuple[str, ...], name: str, rules: list, origin: dict[str, str]) -> None:
    try:
        root.write(parts, name, json.dumps({"rules": [describe(r) for r in rules], "origin": origin}).encode("utf-8"))
    except OSError:
        pass
