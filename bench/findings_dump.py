"""Every finding of a run, fix edits included, as canonical JSON lines: the
evidence that a performance change left the results byte-identical.

    python bench/findings_dump.py PATH... > before.jsonl     # on the old code
    python bench/findings_dump.py PATH... > after.jsonl      # on the new code
    cmp before.jsonl after.jsonl

Runs in-process, without the cache, with the project's configuration, every
built-in rule; a file that could not be checked is a line too.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def dump(paths: list[str]) -> list[str]:
    from scalelint.engine.config import load_config
    from scalelint.engine.registry import load_registry
    from scalelint.engine.runner import Runner, RunSettings

    config = load_config(None, Path(paths[0]))
    registry = load_registry()
    rules = registry.select(config.select, config.ignore, config.extend_select, "")
    report = Runner(config, rules, RunSettings(paths=paths, use_cache=False, jobs=1), set(registry.rules)).run()
    lines = [json.dumps(f.to_cache(), sort_keys=True) for f in sorted(report.findings, key=lambda f: f.sort_key())]
    lines += [json.dumps({"error": str(e)}) for e in sorted(report.errors, key=str)]
    return lines


if __name__ == "__main__":
    sys.stdout.write("".join(line + "\n" for line in dump(sys.argv[1:])))
