"""Where a cold run's CPU goes: parse, model, each rule family, each project
rule, and the rest (start-up, discovery, reading, prefilter, reporting).

    python bench/stages.py CORPUS_DIR [--json]

Runs ``scalelint check --no-cache --jobs 1`` in this process with every
built-in rule, timing each stage by CPU time (``time.process_time``: this
process's user + system time, so other load on a shared machine does not
count). Stages are measured by wrapping the functions that do them:

  parse              scalelint.engine.parsing.parse_module, as the checker calls it
  model              ModuleModel construction (family models are built lazily,
                     inside the rules that ask for them, so they count there)
  family:<module>    every file-phase hook (check_module, check_function,
                     collect_facts) of the rules in rules/<module>.py
  project:<code>     each project rule's check_project
  imports            importing modules (the rules, the model, LibCST) on first use
  discover           finding the files (Runner._discover)
  read               reading, decoding, hashing, the prefilter (Runner._load)
  suppressions       the suppression comments (parse_suppressions)
  cpython            CPython's compile of each checked file (the guard's tree)
  contexts           the context refinement (entry points, RunPython blocks)
  summaries          the call summaries every parsed file publishes for the call
                     graph (model work outside any rule family)
  facts digest       hashing each file's facts
  project index      the project phase outside the rules (index, key, contexts)
  finish             suppressions applied, baseline, the report (Runner._finish)
  other              the rest of the run (threads, the checker's loop, GC)
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

FILE_HOOKS = ("check_module", "check_function", "collect_facts")


class Stopwatch:
    """CPU seconds per stage; a stage entered inside another is charged to
    the inner one only."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stack: list[list[Any]] = []  # [stage, started, time charged to inner stages]

    def wrap(self, stage: str, func: Callable) -> Callable:
        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append([stage, time.process_time(), 0.0])
            try:
                return func(*args, **kwargs)
            finally:
                name, started, inner = self._stack.pop()
                spent = time.process_time() - started
                self.seconds[name] = self.seconds.get(name, 0.0) + spent - inner
                if self._stack:
                    self._stack[-1][2] += spent

        return timed


def _instrument_imports(watch: Stopwatch) -> None:
    """Charge module imports (statements and importlib) to "imports"."""
    import builtins
    import importlib

    builtins.__import__ = watch.wrap("imports", builtins.__import__)
    importlib.import_module = watch.wrap("imports", importlib.import_module)  # type: ignore[assignment]


def _instrument_engine(watch: Stopwatch) -> None:
    from scalelint.engine import checker, runner

    for module, name, stage in ((checker, "parse_suppressions", "suppressions"),
                                (runner, "parse_suppressions", "suppressions"),
                                (checker, "cpython_tree", "cpython"),
                                (checker, "facts_digest", "facts digest")):
        setattr(module, name, watch.wrap(stage, getattr(module, name)))
    checker.Where.refined = watch.wrap("contexts", checker.Where.refined)  # type: ignore[method-assign]
    checker.summaries.module_facts = watch.wrap("summaries", checker.summaries.module_facts)  # type: ignore[attr-defined]
    for name, stage in (("_discover", "discover"), ("_load", "read"), ("_project_phase", "project index"),
                        ("_finish", "finish")):
        setattr(runner.Runner, name, watch.wrap(stage, getattr(runner.Runner, name)))


def _instrument(watch: Stopwatch, rules: list[type]) -> None:
    from scalelint.engine import checker
    from scalelint.model.module import ModuleModel
    from scalelint.rule import ProjectRule

    checker.parse_module = watch.wrap("parse", checker.parse_module)  # type: ignore[assignment]
    ModuleModel.__init__ = watch.wrap("model", ModuleModel.__init__)  # type: ignore[method-assign]
    _instrument_engine(watch)
    for rule in rules:
        family = "family:" + rule.__module__.rsplit(".", 1)[-1]
        for hook in FILE_HOOKS:
            base = getattr(ProjectRule, hook, None)
            method = getattr(rule, hook, None)
            if method is not None and method is not base and getattr(method, "__wrapped__", None) is None:
                setattr(rule, hook, watch.wrap(family, method))
        if issubclass(rule, ProjectRule) and "check_project" in _defined(rule):
            rule.check_project = watch.wrap(f"project:{rule.code}", rule.check_project)  # type: ignore[method-assign]


def _defined(cls: type) -> set[str]:
    """Names a class defines itself or inherits from a rule-pack class (not the base API)."""
    from scalelint.rule import ProjectRule, Rule

    return {name for klass in cls.__mro__ if klass not in (ProjectRule, Rule, object) for name in vars(klass)}


def stage_split(corpus: Path) -> dict[str, Any]:
    """CPU seconds per stage of one cold, serial run over ``corpus``
    (scalelint's own imports included, as a real run pays them)."""
    started = time.process_time()
    watch = Stopwatch()
    _instrument_imports(watch)
    from scalelint.engine.config import load_config
    from scalelint.engine.registry import load_registry
    from scalelint.engine.runner import Runner, RunSettings

    previous = os.getcwd()
    os.chdir(corpus)
    try:
        config = load_config(None, Path("."))
        registry = load_registry()
        rules = registry.select(config.select, config.ignore, config.extend_select, "")
        _instrument(watch, rules)
        with contextlib.redirect_stdout(io.StringIO()):
            report = Runner(config, rules, RunSettings(paths=["."], use_cache=False, jobs=1), set(registry.rules)).run()
    finally:
        os.chdir(previous)
    total = time.process_time() - started
    stages = dict(sorted(watch.seconds.items()))
    stages["other"] = total - sum(stages.values())
    return {"total": total, "stages": stages, "files": report.files, "findings": len(report.findings)}


def print_split(split: dict[str, Any]) -> None:
    total = split["total"]
    print(f"CPU by stage ({split['files']} files, {split['findings']} findings, {total:.2f} s CPU in all):")
    for stage, seconds in split["stages"].items():
        print(f"  {stage:<24} {seconds:8.2f} s  {100 * seconds / total:5.1f}%")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--json", action="store_true", help="print the split as JSON")
    args = parser.parse_args(argv)
    split = stage_split(args.corpus.resolve())
    if args.json:
        print(json.dumps(split))
    else:
        print_split(split)
    return 0


if __name__ == "__main__":
    sys.exit(main())
