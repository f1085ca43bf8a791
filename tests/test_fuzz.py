"""Fuzzing: generated programs (hypothesmith) and mutated real files go through
``scalelint check`` and ``check --fix --unsafe-fixes``; whatever the input, the
run never crashes, errors are per file, findings are deterministic and fixes
compile and are idempotent. A small fixed sample runs by default; for a long
run: ``SCALELINT_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py`` (random, not
derandomised); ``pytest -m "not fuzz"`` leaves the suite out. hypothesis and
hypothesmith come with the ``test`` extra."""
from __future__ import annotations

from pathlib import Path

import libcst
import pytest

hypothesmith = pytest.importorskip("hypothesmith", reason="the fuzz suite needs the test extra (hypothesmith)")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from fuzzing import (  # noqa: E402
    assert_survives,
    encode,
    fixture_files,
    fuzz_settings,
    mutations,
    rename_to_db_words,
    splice,
    with_prelude,
)


pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project directory of its own, so no configuration above it applies."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "pyproject.toml").write_text("[project]\nname = 'fuzz'\n")
    return root


#: generated code to splice into a function body: statements, functions, whole modules
BLOCKS = st.one_of(
    hypothesmith.from_node(libcst.SimpleStatementLine),
    hypothesmith.from_node(libcst.FunctionDef),
    hypothesmith.from_grammar(),
)


@fuzz_settings(examples=10)
@given(program=hypothesmith.from_grammar())
def test_generated_programs(workspace: Path, program: str) -> None:
    """Any token sequence of the grammar (odd whitespace, form feeds, CRs,
    non-ASCII names), after imports that get it past the prefilter."""
    assert_survives(encode(with_prelude(program)), workspace)


@fuzz_settings(examples=8)
@given(
    fixture=st.sampled_from(fixture_files()),
    block=BLOCKS,
    where=st.integers(0, 1_000),
    rng=st.randoms(use_true_random=False),
)
def test_generated_code_spliced_into_real_files(workspace: Path, fixture: Path, block: str, where: int, rng) -> None:
    """Generated code, its names renamed to connections, cursors, sessions and
    caches, at the start of a function body of a real file: the model meets
    arbitrary syntax between acquisitions, queries and releases."""
    assert_survives(encode(splice(fixture, rename_to_db_words(block, rng), where)), workspace)


@fuzz_settings(examples=25)
@given(fixture=st.sampled_from(fixture_files()), edits=st.lists(mutations, min_size=1, max_size=4))
def test_mutated_real_files(workspace: Path, fixture: Path, edits) -> None:
    """Real database and cache code with lines deleted, duplicated, swapped,
    re-indented, joined or truncated, and tokens or odd characters inserted."""
    text = fixture.read_text(encoding="utf-8")
    for edit in edits:
        text = edit.apply(text)
    assert_survives(encode(text), workspace)
