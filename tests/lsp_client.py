"""A minimal Language Server Protocol client for the tests and benchmarks: it
starts ``deidc lsp`` as a subprocess and speaks JSON-RPC over its stdio.
Every wait is bounded."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

TIMEOUT = 30.0


class LspError(AssertionError):
    pass


class Client:
    def __init__(self, *, env: dict | None = None, cwd: str | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deidlang", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
        self.next_id = 0
        self.responses: dict[int, dict] = {}
        self.notifications: list[dict] = []
        self.server_requests: list[dict] = []
        self.inbox: "queue.Queue[dict | None]" = queue.Queue()
        self.stderr_lines: list[bytes] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.config_answer: Any = None  # what to answer to workspace/configuration

    # -- wire
    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            headers = {}
            while True:
                line = out.readline()
                if not line:
                    self.inbox.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = out.read(int(headers["content-length"]))
            self.inbox.put(json.loads(body))

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message: dict) -> None:
        body = json.dumps(message).encode("utf-8")
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def _pump(self, deadline: float) -> bool:
        """Handle one incoming message; False when the deadline passed or the server closed."""
        try:
            msg = self.inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return False
        if msg is None:
            raise LspError("the server closed its output: " + b"".join(self.stderr_lines[-20:]).decode(errors="replace"))
        if "id" in msg and "method" in msg:  # a request from the server
            self.server_requests.append(msg)
            result = None
            if msg["method"] == "workspace/configuration":
                result = [self.config_answer for _ in msg["params"]["items"]]
            self.send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
        elif "id" in msg:
            self.responses[msg["id"]] = msg
        else:
            self.notifications.append(msg)
        return True

    # -- API
    def request(self, method: str, params: Any = None, timeout: float = TIMEOUT) -> Any:
        self.next_id += 1
        rid = self.next_id
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while rid not in self.responses:
            if not self._pump(deadline):
                raise LspError(f"no answer to {method} within {timeout} s")
        msg = self.responses.pop(rid)
        if "error" in msg:
            raise LspError(f"{method}: {msg['error']}")
        return msg.get("result")

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for msg in self.notifications[seen:]:
                if predicate(msg):
                    self.notifications.remove(msg)
                    return msg
            seen = len(self.notifications)
            if not self._pump(deadline):
                raise LspError(f"no matching notification within {timeout} s")

    def diagnostics(self, uri: str, version: int | None = None, timeout: float = TIMEOUT) -> list[dict]:
        def match(m):
            if m.get("method") != "textDocument/publishDiagnostics" or m["params"]["uri"] != uri:
                return False
            return version is None or m["params"].get("version") == version

        return self.wait_for(match, timeout)["params"]["diagnostics"]

    def initialize(self, options: Any = None, root: str | None = None, encodings: list[str] | None = None) -> dict:
        caps: dict = {"textDocument": {"hover": {"contentFormat": ["markdown"]}}, "workspace": {"configuration": True}}
        if encodings:
            caps["general"] = {"positionEncodings": encodings}
        result = self.request(
            "initialize",
            {"processId": os.getpid(), "rootUri": Path(root).as_uri() if root else None, "capabilities": caps, "initializationOptions": options},
        )
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "deid", "version": version, "text": text}})

    def change(self, uri: str, text: str, version: int) -> None:
        self.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]})

    def close(self, timeout: float = 10.0) -> int:
        try:
            if self.proc.poll() is None:
                self.request("shutdown", None, timeout=timeout)
                self.notify("exit")
            return self.proc.wait(timeout=timeout)
        except Exception:
            self.proc.kill()
            self.proc.wait(timeout=timeout)
            raise
        finally:
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                try:
                    stream.close()  # type: ignore[union-attr]
                except Exception:  # noqa: BLE001
                    pass

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            try:
                self.close()
            except Exception:  # noqa: BLE001 - the test already failed; do not hide why
                self.proc.kill()
