"""Findings and fixes do not depend on the interpreter's hash seed.

Label and name sets are unordered; wherever the model picks one member (the
handle a fix swaps, the first witness named in a message) it must pick the
same one on every run, or CI and the editor disagree with each other.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def _run(seed: str, config: Path) -> str:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    done = subprocess.run(
        [sys.executable, "-m", "scalelint", "check", ".", "--no-cache", "--output-format", "json", "--exit-zero",
         "--config", str(config)],
        cwd=FIXTURES, env=env, capture_output=True, text=True, check=True,
    )
    return done.stdout


def test_fixture_findings_are_the_same_under_different_hash_seeds(tmp_path):
    config = tmp_path / "scalelint.toml"  # the fixtures live under tests/: check them as request code
    config.write_text('contexts = { test = true }\n', encoding="utf-8")
    first = _run("1", config)
    assert '"code"' in first
    for seed in ("2", "3"):
        assert _run(seed, config) == first, f"findings changed with PYTHONHASHSEED={seed}"
