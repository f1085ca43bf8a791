"""Every rule's docs are part of the contract: the standard sections exist,
the "Example" code is flagged by the rule and the "Use instead" code is not,
so the docs can never drift from the behaviour."""
from __future__ import annotations

import pytest

from helpers import _REGISTRY, lint

SECTIONS = ("What it does", "Why it matters at scale", "Example", "Use instead", "Fix safety", "Configuration")
RULES = _REGISTRY.sorted()
# rules whose findings come from the engine's suppression pass, not from a file check
ENGINE_RULES = {"SL001", "SL002"}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_docs_have_every_section(rule) -> None:
    for title in SECTIONS:
        assert rule.doc_section(title), f"{rule.code} docs lack '## {title}'"


@pytest.mark.parametrize("rule", [r for r in RULES if r.code not in ENGINE_RULES], ids=lambda r: r.code)
def test_example_is_flagged_and_use_instead_is_clean(rule) -> None:
    examples = rule.doc_examples("Example")
    alternatives = rule.doc_examples("Use instead")
    assert examples and alternatives, f"{rule.code} docs need python code in Example and Use instead"
    for code in examples:
        assert any(f.code == rule.code for f in lint(code, rule.code)), f"{rule.code}: Example is not flagged"
    for code in alternatives:
        assert not [f for f in lint(code, rule.code) if f.code == rule.code], f"{rule.code}: Use instead is flagged"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_registry_metadata(rule) -> None:
    assert not rule.validate_declaration()
    assert rule.summary and len(rule.summary) < 100


def test_generated_docs_are_up_to_date() -> None:
    from pathlib import Path

    from scalelint.docsgen import expected_files

    root = Path(__file__).resolve().parent.parent
    stale = [
        str(path.relative_to(root))
        for path, content in expected_files(root, _REGISTRY).items()
        if not path.exists() or path.read_text(encoding="utf-8") != content
    ]
    assert not stale, f"run `python -m scalelint.docsgen` to refresh: {stale}"
