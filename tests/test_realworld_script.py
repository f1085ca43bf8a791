"""The real-code bench's matcher: findings against judgments, robust to line shifts."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "realworld" / "run.py"


@pytest.fixture(scope="module")
def realworld():
    spec = importlib.util.spec_from_file_location("realworld_run", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["realworld_run"] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["realworld_run"]


def finding(rw, line: int, snippet: str, rule: str = "SL104", path: str = "app/views.py"):
    return rw.Finding(app="shop", path=path, rule=rule, line=line, snippet=snippet, message="m")


def judged(rw, line: int, snippet: str, verdict: str, rule: str = "SL104", also: tuple[str, ...] = ()):
    return rw.Judgment(app="shop", path="app/views.py", rule=rule, line=line, snippet=snippet,
                       verdict=verdict, reason="r", also=also)


def test_judgments_follow_their_line_text_when_lines_shift(realworld) -> None:
    findings = [finding(realworld, 40, "order.items.count()"), finding(realworld, 90, "Item.objects.get(pk=pk)")]
    judgments = [judged(realworld, 12, "order.items.count()", "TRUE"), judged(realworld, 70, "Item.objects.get(pk=pk)", "FALSE")]
    tally = realworld.compare(findings, judgments).tallies["SL104"]
    assert (tally.true_kept, tally.true_total, tally.false_kept, tally.unjudged) == (1, 1, 1, 0)
    assert tally.precision == 0.5


def test_same_text_twice_pairs_by_nearest_line_and_extra_is_unjudged(realworld) -> None:
    findings = [finding(realworld, 10, "x.save()"), finding(realworld, 50, "x.save()"), finding(realworld, 95, "x.save()")]
    judgments = [judged(realworld, 48, "x.save()", "FALSE"), judged(realworld, 12, "x.save()", "TRUE")]
    comparison = realworld.compare(findings, judgments)
    tally = comparison.tallies["SL104"]
    assert (tally.true_kept, tally.false_kept, tally.unjudged) == (1, 1, 1)
    assert [f.line for f in comparison.unjudged] == [95]


def test_a_true_finding_no_longer_reported_lowers_recall_not_precision(realworld) -> None:
    judgments = [judged(realworld, 5, "gone()", "TRUE"), judged(realworld, 9, "kept()", "TRUE"), judged(realworld, 20, "noise()", "FALSE")]
    tally = realworld.compare([finding(realworld, 9, "kept()")], judgments).tallies["SL104"]
    assert (tally.true_kept, tally.true_total, tally.false_kept, tally.false_total) == (1, 2, 0, 1)
    assert tally.precision == 1.0
    assert tally.recall == 0.5


def test_missed_instance_counts_as_found_only_for_its_rule_at_its_text(realworld) -> None:
    judgments = [
        judged(realworld, 30, "with engine.connect() as conn:", "MISSED", rule="SL101"),
        judged(realworld, 60, "for user in users:", "MISSED", rule="SL104", also=("user.profile.name",)),
    ]
    findings = [
        finding(realworld, 31, "with engine.connect() as conn:", rule="SL102"),  # other rule: not found
        finding(realworld, 62, "user.profile.name", rule="SL104"),  # an `also` text: found
    ]
    tallies = realworld.compare(findings, judgments).tallies
    assert (tallies["SL101"].missed_found, tallies["SL101"].missed_total) == (0, 1)
    assert (tallies["SL104"].missed_found, tallies["SL104"].missed_total) == (1, 1)
    assert tallies["SL104"].recall == 1.0


def test_findings_from_json_reads_the_line_text(realworld, tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "views.py").write_text("def f():\n    for o in orders:\n        o.items.count()\n")
    report = [{"code": "SL104", "path": "app/views.py", "line": 3, "message": "m"}]
    [read] = realworld.findings_from_json("shop", tmp_path, report)
    assert (read.path, read.snippet) == ("app/views.py", "o.items.count()")


def test_bad_judgment_row_is_a_one_line_error(realworld, tmp_path: Path) -> None:
    path = tmp_path / "shop.jsonl"
    path.write_text('{"path": "a.py", "rule": "SL104", "line": 1, "snippet": "x", "verdict": "MAYBE", "reason": "r"}\n')
    with pytest.raises(realworld.BenchInputError, match=r"shop.jsonl:1: unknown verdict 'MAYBE'"):
        realworld.load_judgments(path, "shop")


def test_end_to_end_on_a_synthetic_manifest(realworld, tmp_path: Path, capsys) -> None:
    app_root = tmp_path / "corpora" / "shop"
    (app_root / "app").mkdir(parents=True)
    (app_root / "app" / "db.py").write_text(
        "import psycopg2\n\n\ndef total(dsn):\n    conn = psycopg2.connect(dsn)\n"
        "    rows = conn.cursor().fetchall()\n    conn.close()\n    return rows\n"
    )
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(
        '[[app]]\nname = "shop"\nrepo = "o/shop"\ncommit = "0"\nframework = "plain"\npaths = ["app"]\n'
        '[[app]]\nname = "absent"\nrepo = "o/absent"\ncommit = "0"\nframework = "plain"\n'
    )
    judgments = tmp_path / "judgments"
    judgments.mkdir()
    (judgments / "shop.jsonl").write_text(json.dumps(
        {"path": "app/db.py", "rule": "SL102", "line": 3, "snippet": "conn = psycopg2.connect(dsn)", "verdict": "TRUE", "reason": "leaks"}
    ) + "\n")
    unjudged = tmp_path / "unjudged.jsonl"
    code = realworld.main(["--corpora", str(tmp_path / "corpora"), "--manifest", str(manifest),
                           "--judgments", str(judgments), "--write-unjudged", str(unjudged)])
    out = capsys.readouterr().out
    assert code == 0
    assert "no checkout, skipped: absent" in out
    assert "| SL102 | 1/1 | 0/0 | 0/0 | 0 | 1.00 |" in out
    assert unjudged.read_text() == ""


def test_unusable_input_exits_2_with_one_line_naming_the_file(realworld, tmp_path: Path, capsys) -> None:
    manifest = tmp_path / "manifest.toml"
    manifest.write_text('[[app]]\nname = "shop"\n')
    code = realworld.main(["--corpora", str(tmp_path), "--manifest", str(manifest)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert str(manifest) in err and "has no 'repo'" in err


def test_a_judgments_row_missing_a_field_exits_2(realworld, tmp_path: Path, capsys) -> None:
    (tmp_path / "corpora" / "shop").mkdir(parents=True)
    manifest = tmp_path / "manifest.toml"
    manifest.write_text('[[app]]\nname = "shop"\nrepo = "o/shop"\ncommit = "0"\nframework = "plain"\npaths = ["."]\n')
    judgments = tmp_path / "judgments"
    judgments.mkdir()
    (judgments / "shop.jsonl").write_text('{"path": "a.py", "rule": "SL104", "line": 1, "verdict": "TRUE", "reason": "r"}\n')
    code = realworld.main(["--corpora", str(tmp_path / "corpora"), "--manifest", str(manifest), "--judgments", str(judgments)])
    assert code == 2
    assert "shop.jsonl:1: not a judgment row" in capsys.readouterr().err


def test_unjudged_findings_are_counted_and_written_as_rows_to_fill_in(realworld) -> None:
    findings = [finding(realworld, 3, "a.b.c()"), finding(realworld, 7, "cache.get(k)", rule="SL309")]
    comparison = realworld.compare(findings, [judged(realworld, 3, "a.b.c()", "DEBATABLE")])
    assert comparison.tallies["SL104"].unjudged == 0
    assert comparison.tallies["SL309"].unjudged == 1
    [row] = [json.loads(text) for text in realworld.unjudged_rows(comparison.unjudged)]
    assert (row["rule"], row["line"], row["snippet"], row["verdict"]) == ("SL309", 7, "cache.get(k)", "")


def test_judgments_shipped_with_the_bench_are_well_formed(realworld) -> None:
    bench = SCRIPT.parent
    names = {app.name for app in realworld.load_manifest(bench / "manifest.toml")}
    assert len(names) >= 8
    for path in sorted((bench / "judgments").glob("*.jsonl")):
        assert path.stem in names, f"{path.name} names no app of the manifest"
        for judgment in realworld.load_judgments(path, path.stem):
            assert judgment.reason.strip(), f"{path.name}: {judgment.path}:{judgment.line} has no reason"
            assert judgment.snippet.strip(), f"{path.name}: {judgment.path}:{judgment.line} has no snippet"


def test_a_verdict_follows_its_problem_to_an_also_line(realworld) -> None:
    """A rule that moves its report from the check to the write keeps the verdict."""
    judgment = judged(realworld, 20, "if existing is None:", "TRUE", rule="SL202", also=("session.add(row)",))
    moved = realworld.compare([finding(realworld, 31, "session.add(row)", rule="SL202")], [judgment]).tallies["SL202"]
    assert (moved.true_kept, moved.unjudged) == (1, 0)
    twice = realworld.compare(
        [finding(realworld, 20, "if existing is None:", rule="SL202"), finding(realworld, 31, "session.add(row)", rule="SL202")],
        [judgment],
    ).tallies["SL202"]
    assert (twice.true_kept, twice.unjudged) == (1, 1)


def test_show_lists_kept_findings_of_one_verdict_with_the_reason(realworld) -> None:
    findings = [finding(realworld, 40, "order.items.count()"), finding(realworld, 90, "Item.objects.get(pk=pk)")]
    judgments = [judged(realworld, 40, "order.items.count()", "TRUE"), judged(realworld, 90, "Item.objects.get(pk=pk)", "FALSE")]
    kept = realworld.compare(findings, judgments).kept
    rows = realworld.kept_rows(kept, "FALSE")
    assert len(rows) == 1 and ":90 SL104 [FALSE]" in rows[0]
    assert len(realworld.kept_rows(kept, "ALL")) == 2


HOLDOUT_MANIFEST = (
    '[[app]]\nname = "shop"\nrepo = "o/shop"\ncommit = "0"\nframework = "plain"\npaths = ["app"]\n'
    '[[app]]\nname = "unseen"\nrepo = "o/unseen"\ncommit = "0"\nframework = "plain"\nholdout = true\n'
)


def test_holdout_apps_are_measured_only_with_holdout(realworld, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(HOLDOUT_MANIFEST)
    apps = realworld.load_manifest(manifest)
    assert [(app.name, app.holdout) for app in apps] == [("shop", False), ("unseen", True)]
    assert [app.name for app in realworld.select_apps(apps, None, holdout=False)] == ["shop"]
    assert [app.name for app in realworld.select_apps(apps, None, holdout=True)] == ["shop", "unseen"]
    assert [app.name for app in realworld.select_apps(apps, ["unseen"], holdout=True)] == ["unseen"]
    assert [app.name for app in realworld.select_apps(apps, ["shop"], holdout=False)] == ["shop"]


def test_naming_a_holdout_app_without_holdout_exits_2(realworld, tmp_path: Path, capsys) -> None:
    (tmp_path / "corpora").mkdir()
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(HOLDOUT_MANIFEST)
    code = realworld.main(["--corpora", str(tmp_path / "corpora"), "--manifest", str(manifest), "--app", "unseen"])
    assert code == 2
    assert "unseen: holdout app(s), measured only with --holdout" in capsys.readouterr().err
    code = realworld.main(["--corpora", str(tmp_path / "corpora"), "--manifest", str(manifest), "--app", "unseen", "--holdout"])
    assert code == 0
    assert "no checkout, skipped: unseen" in capsys.readouterr().out


def test_holdout_must_be_a_boolean(realworld, tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(HOLDOUT_MANIFEST.replace("holdout = true", 'holdout = "yes"'))
    with pytest.raises(realworld.BenchInputError, match="holdout must be true or false"):
        realworld.load_manifest(manifest)


def test_a_scalelint_that_cannot_run_is_an_error_not_an_empty_report(realworld, tmp_path: Path, monkeypatch) -> None:
    import subprocess

    def failed(*args, **kwargs):
        return subprocess.CompletedProcess(args, 1, stdout="", stderr="python: No module named scalelint\n")

    monkeypatch.setattr(realworld.subprocess, "run", failed)
    app = realworld.App(name="shop", repo="o/shop", commit="0" * 40, framework="django", paths=("shop",))
    with pytest.raises(realworld.BenchInputError, match=r"shop: scalelint failed with exit code 1 \(python: No module named scalelint\)"):
        realworld.run_scalelint(app, tmp_path)


def test_a_report_with_unchecked_files_is_measured_with_a_warning(realworld, tmp_path: Path, monkeypatch, capsys) -> None:
    import subprocess

    def partial(*args, **kwargs):
        return subprocess.CompletedProcess(args, 2, stdout="[]", stderr="shop/big.py: skipped: too complex\n")

    monkeypatch.setattr(realworld.subprocess, "run", partial)
    app = realworld.App(name="shop", repo="o/shop", commit="0" * 40, framework="django", paths=("shop",))
    assert realworld.run_scalelint(app, tmp_path) == []
    err = capsys.readouterr().err
    assert "warning: shop: scalelint exited with code 2" in err and "shop/big.py: skipped: too complex" in err
