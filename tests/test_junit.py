"""JUnit output checked against the content model of the common JUnit XML
schema (Jenkins' junit-10.xsd, read by GitLab, Azure DevOps and most CI
report viewers): which elements nest where, which attributes each may carry,
which are required, and counts that add up."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from scalelint.core.findings import FileError, Finding
from scalelint.report.formats import ReportContext, render

#: element -> (allowed children, allowed attributes, required attributes), from junit-10.xsd
SCHEMA = {
    "testsuites": ({"testsuite"}, {"name", "time", "tests", "failures", "disabled", "errors"}, set()),
    "testsuite": (
        {"properties", "testcase", "system-out", "system-err"},
        {"name", "tests", "failures", "errors", "time", "disabled", "skipped", "timestamp", "hostname", "id", "package", "file", "log", "url", "version"},
        {"name", "tests"},
    ),
    "testcase": (
        {"skipped", "error", "failure", "system-out", "system-err"},
        {"name", "assertions", "time", "classname", "status"},
        {"name"},
    ),
    "failure": (set(), {"type", "message"}, set()),
    "error": (set(), {"type", "message"}, set()),
}
COUNTS = ("tests", "failures", "errors")


def validate(element: ET.Element) -> None:
    children, allowed, required = SCHEMA[element.tag]
    assert set(element.attrib) <= allowed, (element.tag, set(element.attrib) - allowed)
    assert required <= set(element.attrib), (element.tag, required - set(element.attrib))
    for child in element:
        assert child.tag in children, (element.tag, child.tag)
        validate(child)
    if element.tag == "testcase":  # a test case fails or errs once: viewers show one
        assert len([c for c in element if c.tag in ("failure", "error")]) <= 1
    for count in COUNTS:
        if count in element.attrib:
            assert int(element.get(count)) == _count(element, count), (element.tag, count)


def _count(element: ET.Element, what: str) -> int:
    cases = list(element.iter("testcase"))
    if what == "tests":
        return len(cases)
    return sum(1 for case in cases if case.find(what.rstrip("s")) is not None)


def finding(path: str, line: int, code: str = "SL102") -> Finding:
    return Finding(code, "unscoped-connection", "connection <leaked> & \"lost\"", path, line, 5, line, 9)


def junit(findings: list[Finding], errors: list[FileError] = []) -> ET.Element:
    root = ET.fromstring(render("junit", ReportContext(findings=findings, errors=errors, rules={})))
    validate(root)
    return root


def test_one_test_case_per_finding_grouped_by_file() -> None:
    root = junit([finding("a.py", 3), finding("a.py", 9, "SL101"), finding("pkg/b.py", 1)], [FileError("bad.py", "syntax error")])
    suites = {suite.get("name"): suite for suite in root}
    assert sorted(suites) == ["a.py", "bad.py", "pkg/b.py"]
    assert [case.find("failure").get("type") for case in suites["a.py"]] == ["SL102", "SL101"]
    assert suites["bad.py"].find("testcase/error").get("message") == "syntax error"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "3", "1")


def test_a_clean_run_is_one_passing_test() -> None:
    root = junit([])
    assert root.get("failures") == "0" and len(list(root.iter("testcase"))) == 1
    assert root.find(".//failure") is None


def test_messages_are_escaped() -> None:
    failure = junit([finding("a.py", 3)]).find(".//failure")
    assert failure.get("message") == 'SL102 connection <leaked> & "lost"'
    assert failure.text == 'a.py:3:5: SL102 connection <leaked> & "lost"'
