"""Where code runs: the one classifier of code contexts.

Every file, and every function or block in it, runs in one context:

- ``request`` (the default): code serving the application's traffic;
- ``test``: test files and directories, conftest, fixtures, factories;
- ``migration``: Django ``migrations/`` modules, Alembic revision trees,
  modules that import a migration framework, ``post_migrate`` receivers, the
  steps of an application's own migration runner (``m001_...(conn)`` in a
  ``migrations``/``migrate`` module);
- ``one-shot``: management commands, scripts, CLI commands, command-line
  mains, ``__main__`` blocks, seed/sample-data/populate tools, notebooks,
  start-up loops and
  first-run set-up handlers (scalelint.model.entrypoints);
- ``scheduled``: jobs a scheduler runs at a fixed interval, one run at a time
  (Celery beat, ``add_periodic_task``, APScheduler, cron-triggered actors),
  and the helpers only they call. Only the project phase knows them (the
  schedule may live in settings): scalelint.model.schedules and
  scalelint.model.connections.callers.

A file's context is first read from its path (cheap, before any parse: a
file wholly in a context no selected rule checks is never parsed), then
refined from its model (imports), and finally per function or block
(RunPython callables, ``__main__`` blocks, command classes, CLI commands).
Which rules run where is declared on the rules (``Rule.contexts``) and
configured in ``[tool.scalelint]``; see scalelint.engine.config.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

# The path half of this module runs in the main process before any parse:
# it imports neither LibCST nor the catalog (the model half imports them when called).

if TYPE_CHECKING:
    from scalelint.model.module import ModuleModel

REQUEST, TEST, MIGRATION, ONE_SHOT = "request", "test", "migration", "one-shot"
SCHEDULED = "scheduled"
#: every context, in the order they are shown
CONTEXTS = (REQUEST, TEST, MIGRATION, ONE_SHOT, SCHEDULED)
#: the project fact holding a file's context and regions (for project-phase findings)
FACTS_KEY = "contexts"

#: directory names whose files are tests, migrations, or one-shot tools
TEST_DIRS = frozenset({"tests", "test", "testing", "fixtures", "factories", "conftest"})
MIGRATION_DIRS = frozenset({"migrations", "alembic"})
ONE_SHOT_DIRS = frozenset({"scripts", "script", "bin", "notebooks", "cli"})
#: file stems (no suffix) of tests and one-shot tools
TEST_STEMS = frozenset({"conftest", "tests", "factories", "fixtures", "testing"})
ONE_SHOT_STEMS = frozenset({"manage", "setup", "noxfile", "fabfile", "cli", "sample_data"})
#: stems of seed / sample-data / populate tools (``seed.py``, ``populate_db.py``, ``populatedb.py``)
ONE_SHOT_STEM_PREFIXES = ("populate", "sample_data", "fake_data", "load_sample")
#: words that make a stem a seed tool wherever they sit in it (``seed.py``, ``seed_orders.py``,
#: ``workspace_seed_task.py``, ``demo_seeds.py``); whole words only (not ``seeded_cache.py``)
ONE_SHOT_STEM_WORDS = frozenset({"seed", "seeds", "seeder", "seeders", "seeddata", "seeddb"})
#: words that make ``seed`` a random-number seed (``seed_random.py``, ``rng_seed.py``)
RANDOM_SEED_WORDS = frozenset({"random", "rng", "prng", "hash"})
#: names of functions that are one-off data jobs wherever they live (``backfill_members``,
#: ``_backfill_grants``): run once per data change, not per request
ONE_SHOT_FUNCTION_PREFIXES = ("backfill",)
#: first words of functions that set something up once per installation (``install_app``,
#: ``_install_plugin``): run when an admin installs it, not per request
ONE_SHOT_FUNCTION_FIRST_WORDS = frozenset({"install", "uninstall"})

_SPLIT = re.compile(r"[/\\]")


def path_context(path: str) -> str:
    """The context a file's path gives it (``path`` relative to the project root)."""
    parts = [p for p in _SPLIT.split(path) if p and p != "."]
    if not parts:
        return REQUEST
    stem = parts[-1].rsplit(".", 1)[0]
    directories = parts[:-1]
    if _test_path(directories, stem):
        return TEST
    if any(d in MIGRATION_DIRS for d in directories):
        return MIGRATION
    if _one_shot_path(directories, stem):
        return ONE_SHOT
    return REQUEST


def _test_path(directories: list[str], stem: str) -> bool:
    return (
        any(d in TEST_DIRS for d in directories)
        or stem in TEST_STEMS
        or stem.startswith("test_")
        or stem.endswith(("_test", "_tests"))
    )


def _one_shot_path(directories: list[str], stem: str) -> bool:
    commands = any(a == "management" and b == "commands" for a, b in zip(directories, directories[1:]))
    return (
        commands
        or any(d in ONE_SHOT_DIRS for d in directories)
        or stem in ONE_SHOT_STEMS
        or stem.startswith(ONE_SHOT_STEM_PREFIXES)
        or _seed_stem(stem)
    )


def _seed_stem(stem: str) -> bool:
    """A seed / sample-data tool by the words of its stem (not a random-number seed)."""
    words = set(stem.lower().split("_"))
    return not words.isdisjoint(ONE_SHOT_STEM_WORDS) and words.isdisjoint(RANDOM_SEED_WORDS)


def module_context(model: "ModuleModel", by_path: str) -> str:
    """A request file's context once its imports are known: a module that
    imports a test framework is a test helper, one that imports a migration
    framework runs migrations."""
    if by_path != REQUEST:
        return by_path
    from scalelint.model import catalog

    targets = module_level_imports(model)
    if imports_any(targets, catalog.MIGRATION_IMPORT_ROOTS):
        return MIGRATION
    if imports_any(targets, catalog.TEST_IMPORT_ROOTS):
        return TEST
    return REQUEST


def module_level_imports(model: "ModuleModel") -> list[str]:
    """What the module imports when it is loaded: its top level, including under
    ``if``/``try``, but not inside functions or classes (a task that imports the
    migration executor to wait for migrations does not make its module one)."""
    import libcst as cst

    from scalelint.model.names import ImportTable

    table = ImportTable(model.imports.package)
    stack: list[cst.CSTNode] = list(reversed(model.cst.body))
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            continue
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                table.add_statement(small)
            continue
        if isinstance(node, cst.BaseSuite):
            stack.extend(reversed(node.body))  # type: ignore[arg-type]
        elif isinstance(node, (cst.BaseCompoundStatement, cst.Else, cst.ExceptHandler, cst.ExceptStarHandler,
                               cst.Finally)):
            stack.extend(reversed([c for c in node.children if isinstance(c, (cst.BaseSuite, cst.If, cst.Else,
                                   cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally))]))
    return list(table.names.values())


def imports_any(targets, roots: tuple[str, ...]) -> bool:
    """Whether any of the qualified import targets is one of the roots or below one."""
    return any(t == root or t.startswith(root + ".") for t in targets for root in roots)


# -- functions and blocks --------------------------------------------------------------
@dataclass(frozen=True)
class Region:
    """Lines ``first..last`` (1-based, inclusive) of a request file that run in another context."""

    first: int
    last: int
    context: str

    def to_json(self) -> list:
        return [self.first, self.last, self.context]


def publishes_summaries(rules: list, runs_in: dict[str, frozenset[str]]) -> bool:
    """Whether a run of these rules needs the modules' call summaries: a rule reads
    them (``Rule.shared_facts``), or a rule skips some code context, which a helper
    takes from its callers (scalelint.model.connections.callers) whatever else is
    selected."""
    every = frozenset(CONTEXTS)
    return any(getattr(rule, "shared_facts", ()) for rule in rules) or any(
        checked != every for checked in runs_in.values()
    )


# -- where a line runs ---------------------------------------------------------------
def context_at(file_context: str, file_regions: list[Region], line: int) -> str:
    """The context of one line: its innermost region's, else the file's."""
    inner: Region | None = None
    for region in file_regions:
        if region.first <= line <= region.last and (inner is None or region.first >= inner.first):
            inner = region
    return inner.context if inner is not None else file_context


def regions_from_json(data: list) -> list[Region]:
    return [Region(int(a), int(b), str(c)) for a, b, c in data]
