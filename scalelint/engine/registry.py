"""Every rule by code and name: the built-in pack, third-party packs
(entry-point group ``scalelint.rules``) and a project's local rules."""
from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Iterable

from scalelint.core.errors import UsageError
from scalelint.rule import Rule, rule_classes_in

ENTRY_POINT_GROUP = "scalelint.rules"
BUILTIN_PACK = "scalelint.rules"
#: what importing a rule module may raise that is the module's fault: a file
#: calling sys.exit() must be an error naming it, not a silent green run
IMPORT_FAILURES = (Exception, SystemExit)


@dataclass
class Registry:
    rules: dict[str, type[Rule]] = field(default_factory=dict)  # code -> class
    origin: dict[str, str] = field(default_factory=dict)  # code -> pack name
    #: code_fingerprint() of the local rules it was loaded with, when
    #: load_registry_cached computed it (the run's cache reuses it)
    fingerprint: str | None = None

    def add(self, rule: type[Rule], origin: str) -> None:
        problems = rule.validate_declaration()
        if problems:
            raise UsageError(f"rule {rule.__qualname__} from {origin}: {'; '.join(problems)}")
        if rule.code in self.rules and self.rules[rule.code] is not rule:
            raise UsageError(
                f"rule code {rule.code} from {origin} is already taken by "
                f"{self.origin[rule.code]}"
            )
        for other in self.rules.values():
            if other.name == rule.name and other is not rule:
                raise UsageError(
                    f"rule name {rule.name!r} from {origin} is already taken by {other.code}"
                )
        self.rules[rule.code] = rule
        self.origin[rule.code] = origin

    def add_module(self, module: ModuleType, origin: str) -> None:
        declared = getattr(module, "RULES", None)
        rules = list(declared) if declared is not None else rule_classes_in(vars(module).values())
        for rule in rules:
            self.add(rule, origin)

    def sorted(self) -> list[type[Rule]]:
        return [self.rules[c] for c in sorted(self.rules)]

    def by_name(self, name: str) -> type[Rule] | None:
        for rule in self.rules.values():
            if rule.name == name:
                return rule
        return None

    def lookup(self, code_or_name: str) -> type[Rule] | None:
        return self.rules.get(code_or_name.upper()) or self.by_name(code_or_name)

    def matching(self, selector: str) -> list[str]:
        """Codes matched by a code, a code prefix (``SL1``), a name or ``ALL``."""
        if selector.upper() == "ALL":
            return sorted(self.rules)
        rule = self.by_name(selector)
        if rule is not None:
            return [rule.code]
        prefix = selector.upper()
        return sorted(c for c in self.rules if c.startswith(prefix))

    def select(
        self,
        select: Iterable[str] | None,
        ignore: Iterable[str] = (),
        extend_select: Iterable[str] = (),
        where: str = "",
        skip_unknown: bool = False,
    ) -> list[type[Rule]]:
        """Resolve selectors to rule classes. An unknown selector is an error,
        unless ``skip_unknown`` (the local rules it may name were not loaded)."""
        chosen: set[str] = set()
        for sel in list(select if select is not None else ["ALL"]) + list(extend_select):
            chosen.update(self._resolve(sel, where, skip_unknown))
        for sel in ignore:
            chosen.difference_update(self._resolve(sel, where, skip_unknown))
        return [self.rules[c] for c in sorted(chosen)]

    def _resolve(self, selector: str, where: str, skip_unknown: bool = False) -> list[str]:
        codes = self.matching(selector)
        if not codes and not skip_unknown:
            suffix = f" (in {where})" if where else ""
            raise UsageError(f"unknown rule selector {selector!r}{suffix}")
        return codes


def load_registry(local_rules: Iterable[Path] = ()) -> Registry:
    """The built-in pack, every installed pack, then the project's local rules."""
    registry = Registry()
    registry.add_module(importlib.import_module(BUILTIN_PACK), "scalelint (built-in)")
    for ep in _entry_points():
        if ep.value.split(":")[0] == BUILTIN_PACK:
            continue
        try:
            loaded = ep.load()
        except IMPORT_FAILURES as exc:  # a broken plugin must not give a silent green run
            raise UsageError(
                f"rule pack {ep.name!r} ({ep.value}) failed to import: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if isinstance(loaded, ModuleType):
            registry.add_module(loaded, f"pack {ep.name}")
        else:
            for rule in loaded if isinstance(loaded, (list, tuple)) else [loaded]:
                registry.add(rule, f"pack {ep.name}")
    for path in local_rules:
        registry.add_module(_import_local(path), f"local rules {path}")
    return registry


def load_registry_cached(local_rules: Iterable[Path], cache_dir: Path | None) -> Registry:
    """The registry, from the metadata kept in ``cache_dir`` when it is current
    (rules then import only when a file must be checked), else loaded and kept."""
    local = list(local_rules)
    if cache_dir is None:
        return load_registry(local)
    from scalelint.engine import manifest
    from scalelint.engine.cache import VERSION_DIR, CacheRoot

    fingerprint = code_fingerprint(local)
    root, parts, name = CacheRoot(cache_dir), (VERSION_DIR,), f"rules-{fingerprint}.json"
    loaded: list[Registry] = []

    def classes() -> dict[str, type[Rule]]:
        if not loaded:
            loaded.append(load_registry(local))
        return loaded[0].rules

    known = manifest.read(root, parts, name, classes)
    if known is not None:
        registry = Registry(fingerprint=fingerprint)
        registry.rules, registry.origin = known  # type: ignore[assignment]
        return registry
    registry = load_registry(local)
    manifest.write(root, parts, name, registry.sorted(), registry.origin)
    registry.fingerprint = fingerprint
    return registry


def code_fingerprint(local_rules: Iterable[Path]) -> str:
    """Changes whenever the code that produces results may have changed: the
    version, installed packs, local rule files, and the modules of scalelint
    and its built-in pack (an editable install edits them in place)."""
    from scalelint.engine import manifest

    return manifest.fingerprint(list(local_rules), _installed_state() + _builtin_pack_files() + _engine_files())


def _engine_files() -> list[tuple[str, str]]:
    """Every module of the scalelint package, its sub-packages included."""
    import os

    import scalelint

    return _python_file_stats([os.path.dirname(scalelint.__file__)], recursive=True)


def _python_file_stats(directories: Iterable[str], recursive: bool = False) -> list[tuple[str, str]]:
    """(file, size:mtime) of the ``.py`` files in these directories (and, when
    ``recursive``, in the packages below them)."""
    import os

    out = []
    pending = list(directories)
    while pending:
        directory = pending.pop()
        for entry in os.scandir(directory):
            if entry.name.endswith(".py") and entry.is_file():
                stat = entry.stat()
                out.append((entry.path, f"{stat.st_size}:{stat.st_mtime_ns}"))
            elif recursive and entry.is_dir(follow_symlinks=False) and not entry.name.startswith((".", "__")):
                pending.append(entry.path)
    return sorted(out)


def _installed_state() -> list[tuple[str, str]]:
    """Installing or removing a package (a rule pack among them) changes the
    modification time of its site directory: a cheap stand-in for scanning
    every installed distribution's entry points."""
    import os

    state = []
    for entry in sys.path:
        if not entry or not entry.endswith(("site-packages", "dist-packages")):
            continue  # the working directory and script folders hold no installs
        try:
            state.append((entry, str(os.stat(entry).st_mtime_ns)))
        except OSError:
            continue
    return state


def _builtin_pack_files() -> list[tuple[str, str]]:
    """(file, size:mtime) of the built-in pack's modules, so an edited pack
    (an editable install) is never answered from stale metadata."""
    spec = importlib.util.find_spec(BUILTIN_PACK)
    if spec is None or not spec.submodule_search_locations:
        return []
    return _python_file_stats(spec.submodule_search_locations)


def _entry_points():
    """The entry points of the installed packs. importlib.metadata lists every
    installed distribution and imports email, zipfile and csv to do so (about
    30 ms a run); most environments declare no pack but the built-in one, which
    a look at the distributions' ``entry_points.txt`` files tells first."""
    if not _other_finders() and not _other_packs_declared(sys.path):
        return []
    from importlib.metadata import entry_points

    return entry_points(group=ENTRY_POINT_GROUP)


def _other_finders() -> bool:
    """Whether an import hook other than the standard path finder can list
    distributions (importlib.metadata asks it; a scan of sys.path would not)."""
    from importlib.machinery import PathFinder

    return any(hasattr(finder, "find_distributions") and finder is not PathFinder for finder in sys.meta_path)


def _other_packs_declared(path: Iterable[str]) -> bool:
    """Whether a distribution in these ``sys.path`` directories may declare a
    pack other than the built-in one; True whenever the files cannot tell (an
    archive on the path, an unreadable file), so that importlib.metadata decides."""
    import os

    for entry in path:
        directory = entry or "."
        try:
            with os.scandir(directory) as found:
                infos = [e.name for e in found if e.name.lower().endswith((".dist-info", ".egg-info")) and e.is_dir()]
        except NotADirectoryError:
            return True  # a zip archive: distributions inside it
        except OSError:
            continue  # missing: importlib.metadata finds nothing there either
        for name in infos:
            try:
                with open(os.path.join(directory, name, "entry_points.txt"), encoding="utf-8") as handle:
                    text = handle.read()
            except FileNotFoundError:
                continue
            except (OSError, UnicodeDecodeError):
                return True
            if _declares_other_pack(text):
                return True
    return False


def _declares_other_pack(text: str) -> bool:
    """Whether an ``entry_points.txt`` declares, in the packs' group, a value
    other than the built-in pack (anything it cannot read counts as one)."""
    if ENTRY_POINT_GROUP not in text:
        return False
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[] \t")
            continue
        if section != ENTRY_POINT_GROUP:
            continue
        name, equals, value = line.partition("=")
        if not equals or value.strip().split(":")[0].strip() != BUILTIN_PACK:
            return True
    return False


def _import_local(path: Path) -> ModuleType:
    target = path / "__init__.py" if path.is_dir() else path
    if not target.is_file():
        raise UsageError(f"local rules {path}: no such file")
    from scalelint.engine.manifest import LOCAL_RULES_MODULE

    name = f"{LOCAL_RULES_MODULE}{abs(hash(str(target.resolve())))}"
    spec = importlib.util.spec_from_file_location(
        name, target, submodule_search_locations=[str(path)] if path.is_dir() else None
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except IMPORT_FAILURES as exc:
        del sys.modules[name]
        raise UsageError(
            f"local rules {path} failed to import: {type(exc).__name__}: {exc}"
        ) from None
    return module
