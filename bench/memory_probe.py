"""Where the project phase's memory goes: VmRSS and Python's traced memory
after each project rule, and the biggest allocation sites after chosen rules.

    python bench/memory_probe.py DIR [--jobs N] [--top CODE,CODE] [--frames N]

Runs scalelint in-process without the cache, every built-in rule, and
traces allocations (``tracemalloc``) from the start of the project phase
only, so the file phase runs at full speed (with ``--jobs 1`` the file
phase's own memory is then not traced; VmRSS still shows it). A line per
project rule, in the order they ran: ``SL201 rss 131 MB traced 36 MB peak 36
MB cpu 1.2 s``; after each rule named in ``--top``, the 25 biggest live
allocation sites (by line, or by the last ``--frames`` frames). Traced
figures are what Python holds; VmRSS also counts the allocator's free lists
and, while tracing, the tracer's own records.
"""
from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path


def rss_mb() -> int:
    """The process's resident set now (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def probe(target: str, jobs: int = 2, top: frozenset[str] = frozenset(), frames: int = 1,
          out=sys.stdout) -> int:
    """Run scalelint on ``target`` and print the project phase's memory; returns the findings count."""
    from scalelint.engine.config import load_config
    from scalelint.engine.registry import load_registry
    from scalelint.engine.runner import Runner, RunSettings

    original_phase, original_rule = Runner._project_phase, Runner._project_rule

    def phase(self, states):
        print(f"project phase start rss {rss_mb()} MB", file=out)
        tracemalloc.start(frames)
        started = time.process_time()
        try:
            return original_phase(self, states)
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"project phase end rss {rss_mb()} MB traced peak {peak >> 20} MB "
                  f"cpu {time.process_time() - started:.1f} s", file=out)

    def rule(self, rule_cls, index, reported):
        started = time.process_time()
        found = original_rule(self, rule_cls, index, reported)
        current, peak = tracemalloc.get_traced_memory()
        print(f"{rule_cls.code} rss {rss_mb()} MB traced {current >> 20} MB peak {peak >> 20} MB "
              f"cpu {time.process_time() - started:.1f} s", file=out)
        if rule_cls.code in top:
            stats = tracemalloc.take_snapshot().statistics("traceback" if frames > 1 else "lineno")
            for stat in stats[:25]:
                where = " <- ".join(str(frame) for frame in reversed(stat.traceback))
                print(f"    {stat.size >> 10:8d} KB {stat.count:8d} blocks  {where}", file=out)
        return found

    config = load_config(None, Path(target))
    registry = load_registry()
    rules = registry.select(config.select, config.ignore, config.extend_select, "")
    Runner._project_phase, Runner._project_rule = phase, rule  # type: ignore[method-assign]
    try:
        report = Runner(config, rules, RunSettings(paths=[target], use_cache=False, jobs=jobs),
                        set(registry.rules)).run()
    finally:
        Runner._project_phase, Runner._project_rule = original_phase, original_rule  # type: ignore[method-assign]
    return len(report.findings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--top", default="", help="rule codes after which to list the biggest allocation sites")
    parser.add_argument("--frames", type=int, default=1)
    args = parser.parse_args()
    found = probe(args.target, args.jobs, frozenset(filter(None, args.top.split(","))), args.frames)
    print(f"findings {found}")


if __name__ == "__main__":
    main()
