"""Related locations: other places of one problem, carried from the rule to every
output format and through the cache."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from scalelint.core.findings import Finding, Related
from scalelint.engine.cache import _finding
from scalelint.report.formats import ReportContext, render

CHECK = Related("app/views.py", 3, 5, "the check")
READ = Related("app/models.py", 10, 1, "the read")


def _finding_with_related() -> Finding:
    return Finding("SL202", "check-then-act-without-lock", "a race", "app/views.py",
                   7, 9, 7, 20, None, (CHECK, READ))


def _render(fmt: str, finding: Finding) -> str:
    return render(fmt, ReportContext([finding], [], {}, files=1, source_lines={}))


def test_json_lists_related_places() -> None:
    data = json.loads(_render("json", _finding_with_related()))
    assert data[0]["related"] == [
        {"path": "app/views.py", "line": 3, "column": 5, "message": "the check"},
        {"path": "app/models.py", "line": 10, "column": 1, "message": "the read"},
    ]


def test_json_always_has_the_related_key() -> None:
    plain = Finding("SL302", "cache-set-without-ttl", "m", "a.py", 1, 1, 1, 2)
    assert json.loads(_render("json", plain))[0]["related"] == []


def test_sarif_related_locations() -> None:
    result = json.loads(_render("sarif", _finding_with_related()))["runs"][0]["results"][0]
    related = result["relatedLocations"]
    assert [r["id"] for r in related] == [0, 1]
    assert related[1]["message"]["text"] == "the read"
    location = related[1]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "app/models.py"
    assert location["region"] == {"startLine": 10, "startColumn": 1}


def test_sarif_without_related_has_no_key() -> None:
    plain = Finding("SL302", "cache-set-without-ttl", "m", "a.py", 1, 1, 1, 2)
    assert "relatedLocations" not in json.loads(_render("sarif", plain))["runs"][0]["results"][0]


def test_text_prints_one_related_line_each() -> None:
    text = _render("text", _finding_with_related())
    assert "  related: app/views.py:3:5: the check\n" in text
    assert "  related: app/models.py:10:1: the read\n" in text


def test_github_annotation_carries_related_lines() -> None:
    line = _render("github", _finding_with_related()).splitlines()[0]
    assert line.endswith("::SL202 a race%0Arelated: app/views.py:3:5: the check%0Arelated: app/models.py:10:1: the read")


def test_junit_failure_body_lists_related() -> None:
    root = ET.fromstring(_render("junit", _finding_with_related()))
    body = root.find(".//failure").text
    assert body.splitlines() == [
        "app/views.py:7:9: SL202 a race",
        "related: app/views.py:3:5: the check",
        "related: app/models.py:10:1: the read",
    ]


def test_cache_round_trip_keeps_related_and_rebases_same_file_places() -> None:
    stored = json.loads(json.dumps(_finding_with_related().to_cache()))
    assert stored["related"][0]["path"] is None  # same file: read back under this run's path
    back = _finding(stored, "src/app/views.py")
    assert back.related == (Related("src/app/views.py", 3, 5, "the check"), READ)


def test_cache_rejects_a_malformed_related_place() -> None:
    stored = _finding_with_related().to_cache()
    stored["related"][0]["line"] = "3"
    try:
        _finding(stored, "app/views.py")
    except TypeError:
        return
    raise AssertionError("a related place with a string line must be rejected")


RACE = '''
from celery import shared_task
from flask import Flask

from shop.models import Coupon, Registration

app = Flask(__name__)


@app.route("/redeem")
def redeem_view(code, user):
    if Coupon.objects.filter(code=code).exists():
        raise ValueError("already redeemed")
    Coupon.objects.create(code=code, user=user)


@shared_task
def redeem_task(code, user):
    if Coupon.objects.filter(code=code).exists():
        raise ValueError("already redeemed")
    Coupon.objects.create(code=code, user=user)


def register(event, user):
    taken = Registration.objects.filter(event=event).count()
    if taken >= event.capacity:
        raise ValueError("sold out")
    Registration.objects.create(event=event, user=user)
'''


def _races() -> dict[int, Finding]:
    from helpers import lint

    return {f.line: f for f in lint(RACE, "SL202", path="shop/views.py", min_confidence="low")}


def test_sl202_is_reported_at_the_write_with_the_check_and_the_read() -> None:
    finding = _races()[14]
    assert [(r.line, r.message) for r in finding.related] == [(12, "the check"), (12, "the read of Coupon")]
    assert all(r.path == "shop/views.py" for r in finding.related)


def test_sl202_message_names_who_races() -> None:
    races = _races()
    assert "concurrent requests can pass the check" in races[14].message
    assert "concurrent task runs can pass the check" in races[21].message
    assert "concurrent callers can pass the check" in races[28].message


def test_sl202_aggregate_threshold_advice_is_not_a_row_lock() -> None:
    message = _races()[28].message
    assert "advisory lock" in message and "select_for_update" not in message


def test_lsp_related_information(tmp_path) -> None:
    from scalelint.lsp import DocumentLinter

    path = tmp_path / "views.py"
    path.write_text(RACE)
    (tmp_path / "pyproject.toml").write_text("[tool.scalelint]\nselect = ['SL202']\nmin-confidence = 'low'\n")
    diagnostics = DocumentLinter().diagnostics(str(path), RACE)
    info = diagnostics[0]["relatedInformation"]
    assert info[0]["message"] == "the check"
    assert info[0]["location"]["uri"] == path.resolve().as_uri()
    assert info[0]["location"]["range"]["start"] == {"line": 11, "character": 7}


def test_sl301_lists_where_each_stale_key_is_cached() -> None:
    from helpers import FIXTURES, lint_tree

    findings = [f for f in lint_tree(FIXTURES / "SL301" / "django_shop", "SL301") if f.line == 11]
    assert [(r.path.rsplit("/", 1)[-1], r.line) for r in findings[0].related] == [("home.py", 10), ("views.py", 20)]


def test_sl304_dict_memo_is_one_finding_with_the_other_fill_related() -> None:
    from helpers import FIXTURES, lint

    source = (FIXTURES / "SL304" / "flagged_memo_once.py").read_text()
    memo = [f for f in lint(source, "SL304", path="m.py") if "_PRODUCTS" in f.message]
    assert len(memo) == 1 and [(r.line, r.message) for r in memo[0].related] == [(19, "also filled here")]
