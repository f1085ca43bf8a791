"""A small JSON-RPC client for driving a language server over stdio (stdlib
only): used by the latency harness (lsp_bench.py) and the end-to-end tests."""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


@dataclass
class Received:
    message: dict[str, Any]
    at: float  # time.perf_counter() when it was read


class LspClient:
    def __init__(self, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.received: list[Received] = []
        self._cond = threading.Condition()
        self._next_id = 0
        self._write_lock = threading.Lock()  # the reader thread answers the server's requests too
        self._reader = threading.Thread(target=self._read_all, daemon=True)
        self._reader.start()

    # -- wire -----------------------------------------------------------------------
    @staticmethod
    def frame(payload: dict[str, Any]) -> bytes:
        body = json.dumps(payload).encode()
        return f"Content-Length: {len(body)}\r\n\r\n".encode() + body

    def _write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        with self._write_lock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def _read_one(self) -> dict[str, Any] | None:
        stream = self.proc.stdout
        assert stream is not None
        length = None
        while True:
            line = stream.readline()
            if not line:
                return None
            if not line.strip():
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            return None
        return json.loads(stream.read(length))

    def _read_all(self) -> None:
        while True:
            message = self._read_one()
            if message is None:
                break
            if "method" in message and "id" in message:  # a request of the server's: accept it
                self._write(self.frame({"jsonrpc": "2.0", "id": message["id"], "result": None}))
            with self._cond:
                self.received.append(Received(message, time.perf_counter()))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    # -- calls ------------------------------------------------------------------------
    def notify(self, method: str, params: Any) -> None:
        self._write(self.frame({"jsonrpc": "2.0", "method": method, "params": params}))

    def notify_many(self, calls: list[tuple[str, Any]]) -> None:
        """Several notifications in one write (they arrive together)."""
        self._write(b"".join(self.frame({"jsonrpc": "2.0", "method": m, "params": p}) for m, p in calls))

    def send_request(self, method: str, params: Any) -> int:
        self._next_id += 1
        self._write(self.frame({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}))
        return self._next_id

    def request(self, method: str, params: Any, timeout: float = 120) -> Any:
        ident = self.send_request(method, params)
        reply = self.wait_for(lambda m: m.get("id") == ident and "method" not in m, timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result")

    def wait_for(self, matches: Callable[[dict[str, Any]], bool], timeout: float = 120, start: int = 0) -> dict[str, Any]:
        return self.wait_for_received(matches, timeout, start).message

    def wait_for_received(self, matches: Callable[[dict[str, Any]], bool], timeout: float = 120,
                          start: int = 0) -> Received:
        """The first message from index ``start`` on that matches (waits for it)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for item in self.received[start:]:
                    if matches(item.message):
                        return item
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not self._reader.is_alive():
                    raise TimeoutError("no matching message from the server")
                self._cond.wait(left)

    def mark(self) -> int:
        """An index into the messages received so far (for wait_for's start)."""
        with self._cond:
            return len(self.received)

    def messages(self, method: str, start: int = 0) -> list[dict[str, Any]]:
        with self._cond:
            return [r.message for r in self.received[start:] if r.message.get("method") == method]

    # -- LSP helpers ----------------------------------------------------------------------
    def initialize(self, root: Path, options: dict[str, Any] | None = None,
                   folders: list[Path] | None = None, capabilities: dict[str, Any] | None = None) -> Any:
        params: dict[str, Any] = {"processId": os.getpid(), "rootUri": root.as_uri(),
                                  "capabilities": capabilities or {}, "initializationOptions": options}
        if folders:
            params["workspaceFolders"] = [{"uri": f.as_uri(), "name": f.name} for f in folders]
        result = self.request("initialize", params)
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python",
                                                              "version": version, "text": text}})

    @staticmethod
    def change(uri: str, text: str, version: int) -> tuple[str, Any]:
        return ("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                           "contentChanges": [{"text": text}]})

    def diagnostics(self, uri: str, version: int | None = None, start: int = 0, timeout: float = 120) -> dict[str, Any]:
        """The next publishDiagnostics for ``uri`` (of ``version`` if given)."""
        def matches(m: dict[str, Any]) -> bool:
            p = m.get("params") or {}
            return (m.get("method") == "textDocument/publishDiagnostics" and p.get("uri") == uri
                    and (version is None or p.get("version") == version))
        return self.wait_for(matches, timeout, start)["params"]

    def cpu_time(self) -> float:
        """Seconds of CPU the server process used so far, every thread (Linux
        /proc; 0.0 elsewhere), at the kernel's clock tick (10 ms)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.request("shutdown", None, timeout=30)
                self.notify("exit", None)
                self.proc.wait(timeout=30)
        except (OSError, TimeoutError, RuntimeError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
