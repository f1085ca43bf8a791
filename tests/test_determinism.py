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


def _run(seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    done = subprocess.run(
        [sys.executable, "-m", "scalelint", "check", ".", "--no-cache", "--output-format", "json", "--exit-zero"],
        cwd=FIXTURES, env=env, capture_output=True, text=True, check=True,
    )
    return done.stdout


def test_fixture_findings_are_the_same_under_different_hash_seeds():
    first = _run("1")
    assert '"code"' in first
    for seed in ("2", "3"):
        assert _run(seed) == first, f"findings changed with PYTHONHASHSEED={seed}"
