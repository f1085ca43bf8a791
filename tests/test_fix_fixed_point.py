"""One fixing run reaches the fixed point: the fixes of project findings land in
the same run as the file's own fixes (fixing the fixed file changes nothing), and
the findings it reports are those a check of the written file reports."""
from __future__ import annotations

from pathlib import Path

from fuzzing import SAMPLE_NAME, Mutation, run_check

FIXTURE = Path(__file__).parent / "fixtures" / "SL103" / "flagged_transactions.py"


def _fix_twice(text: str, workspace: Path) -> tuple[bytes, bytes, bool]:
    path = workspace / SAMPLE_NAME
    path.write_text(text, encoding="utf-8")
    fixing = run_check(path, "--fix", "--unsafe-fixes")
    once = path.read_bytes()
    recheck = run_check(path)
    run_check(path, "--fix", "--unsafe-fixes")
    return once, path.read_bytes(), (recheck.exit_code, recheck.findings) == (fixing.exit_code, fixing.findings)


def test_project_fixes_land_with_the_file_fixes(tmp_path: Path) -> None:
    # send_invoice is a task of another module (a project finding); rebuild_search is
    # this file's own (a file finding): both are moved to on_commit in one run
    once, twice, same = _fix_twice(FIXTURE.read_text(encoding="utf-8"), tmp_path)
    assert once == twice and same
    assert b"transaction.on_commit(lambda: send_invoice.delay(order.id))" in once
    assert b"transaction.on_commit(lambda: rebuild_search.apply_async(args=[order.id]))" in once


def test_related_locations_of_a_fix_run_are_in_the_written_text(tmp_path: Path) -> None:
    # a fix that adds an import moves the helper's blocking call one line down: the
    # fix run must place it where a check of the written file does (found by fuzzing)
    text = FIXTURE.read_text(encoding="utf-8")
    for mutation in (Mutation(kind="duplicate", at=0, other=0, token="("),
                     Mutation(kind="swap", at=399, other=7292, token="(")):
        text = mutation.apply(text)
    once, twice, same = _fix_twice(text, tmp_path)
    assert once == twice and same
