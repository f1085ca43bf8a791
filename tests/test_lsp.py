"""The language server: the document linter on its own, then the real
server over stdio (JSON-RPC) when pygls is installed."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import textwrap
from pathlib import Path

import pytest

from scalelint.lsp import DocumentLinter, offset_range

SOURCE = textwrap.dedent('''\
    import sqlite3


    def names(path):
        conn = sqlite3.connect(path)  # café
        rows = conn.execute("SELECT name FROM users").fetchall()
        conn.close()
        return rows
    ''')


def test_diagnostics_and_quick_fix(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    linter = DocumentLinter()
    diagnostics = linter.diagnostics(str(path), SOURCE)
    assert [d["code"] for d in diagnostics] == ["SL102"]
    assert diagnostics[0]["range"]["start"] == {"line": 4, "character": 4}
    actions = linter.code_actions(path.as_uri(), str(path), SOURCE, line=4)
    assert len(actions) == 1 and actions[0]["isPreferred"]
    edits = actions[0]["edit"]["changes"][path.as_uri()]
    lines = SOURCE.split("\n")

    def offset(p: dict) -> int:
        return sum(len(line) + 1 for line in lines[: p["line"]]) + p["character"]

    fixed = SOURCE
    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        start, end = offset(edit["range"]["start"]), offset(edit["range"]["end"])
        fixed = fixed[:start] + edit["newText"] + fixed[end:]
    assert "with closing(sqlite3.connect(path)) as conn:  # café" in fixed
    assert linter.diagnostics(str(path), fixed) == []


def test_buffer_sees_the_rest_of_the_project(tmp_path: Path) -> None:
    """Cross-file findings show in the editor: the loop is in the buffer, the
    model whose relation it loads lazily is in another file of the project."""
    import shutil

    project = tmp_path / "proj"
    shutil.copytree(Path(__file__).parent / "fixtures" / "SL104" / "lazy_shop", project)
    (project / "pyproject.toml").write_text("[tool.scalelint]\nselect = ['SL104']\n")
    views = project / "shop" / "views.py"
    text = views.read_text()
    linter = DocumentLinter()
    expected = [i + 1 for i, line in enumerate(text.splitlines()) if "# expect: SL104" in line]
    found = sorted({f.line for f in linter.lint(str(views), text)})
    assert found == expected and len(expected) >= 2
    unsaved = text.replace('select_related("product__created_by")', "all()")
    assert len({f.line for f in linter.lint(str(views), unsaved)}) > len(expected), "the buffer, not the file on disk"


def test_utf16_columns() -> None:
    text = "x = '😀'; y = 1\n"
    r = offset_range(text, text.index("y"), text.index("y") + 1)
    assert (r.start_line, r.start_char) == (0, 10)  # the emoji is two UTF-16 units


def _message(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _read(stream) -> dict:
    length = 0
    while True:
        line = stream.readline()
        if not line.strip():
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))


def test_language_server_over_stdio(tmp_path: Path) -> None:
    pytest.importorskip("pygls", reason="the lsp extra (pygls) is not installed")
    uri = (tmp_path / "app.py").as_uri()
    proc = subprocess.Popen([sys.executable, "-c", "from scalelint.lsp import main; main()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=tmp_path)
    watchdog = threading.Timer(60, proc.kill)  # a silent server fails the test instead of hanging it
    watchdog.start()
    try:
        assert proc.stdin and proc.stdout
        proc.stdin.write(_message({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                   "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}}))
        proc.stdin.flush()
        init = _read(proc.stdout)
        assert init["id"] == 1 and "codeActionProvider" in init["result"]["capabilities"]
        proc.stdin.write(_message({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        proc.stdin.write(_message({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": SOURCE}}}))
        proc.stdin.flush()
        while True:
            message = _read(proc.stdout)
            if message.get("method") == "textDocument/publishDiagnostics":
                break
        diagnostics = message["params"]["diagnostics"]
        assert [d["code"] for d in diagnostics] == ["SL102"]
        proc.stdin.write(_message({"jsonrpc": "2.0", "id": 2, "method": "textDocument/codeAction", "params": {
            "textDocument": {"uri": uri}, "range": diagnostics[0]["range"], "context": {"diagnostics": diagnostics}}}))
        proc.stdin.flush()
        while True:
            reply = _read(proc.stdout)
            if reply.get("id") == 2:
                break
        assert reply["result"][0]["title"].startswith("SL102: scope it in a `with` block")
        proc.stdin.write(_message({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}))
        proc.stdin.write(_message({"jsonrpc": "2.0", "method": "exit"}))
        proc.stdin.flush()
        proc.wait(timeout=10)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("header", [b"", b"Content-Type: application/json\r\n", b"Content-Length: many\r\n", b"Content-Length: -3\r\n"],
                         ids=["no-headers", "no-content-length", "non-numeric", "negative"])
def test_language_server_survives_a_bad_content_length(tmp_path: Path, header: bytes) -> None:
    """A malformed message is dropped and the server answers the next ones (issue 11 item 12)."""
    pytest.importorskip("pygls", reason="the lsp extra (pygls) is not installed")
    proc = subprocess.Popen([sys.executable, "-c", "from scalelint.lsp import main; main()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tmp_path)
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        assert proc.stdin and proc.stdout
        bad = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {}}).encode()
        proc.stdin.write(header + b"\r\n" + bad)
        for request_id in (1, 2):
            proc.stdin.write(_message({"jsonrpc": "2.0", "id": request_id, "method": "initialize",
                                       "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}}))
        proc.stdin.flush()
        replies = [_read(proc.stdout), _read(proc.stdout)]
        assert [r.get("id") for r in replies][-1] == 2
        assert "codeActionProvider" in replies[-1]["result"]["capabilities"]
        proc.stdin.write(_message({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}))
        proc.stdin.write(_message({"jsonrpc": "2.0", "method": "exit"}))
        proc.stdin.flush()
        proc.wait(timeout=10)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
