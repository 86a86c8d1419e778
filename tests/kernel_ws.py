"""Run code in a Jupyter kernel over its websocket, as a frontend does (shared by the tests of
kernels on a shared server and under JupyterHub)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any


def execute(conn: Any, session: str, code: str, *, username: str = "", silent: bool = False,
            timeout: float = 120.0) -> tuple[str, int | None]:
    """Send ``code`` on ``conn`` (a ``websocket`` connection to ``api/kernels/<id>/channels``);
    its stdout and results as text, and the execution count. A failing cell, or no answer
    within ``timeout``, fails the test."""
    msg_id = uuid.uuid4().hex
    conn.send(json.dumps({
        "header": {"msg_id": msg_id, "username": username, "session": session,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
        "content": {"code": code, "silent": silent, "store_history": not silent,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }))
    out: list[str] = []
    count: int | None = None
    replied = idle = False
    deadline = time.monotonic() + timeout
    while not (replied and idle) and time.monotonic() < deadline:
        msg = json.loads(conn.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind in ("execute_result", "display_data"):
            out.append(content["data"].get("text/plain", "") + "\n")
        elif kind == "error":
            raise AssertionError("\n".join(content["traceback"]))
        elif kind == "execute_reply":
            replied, count = True, content.get("execution_count")
            if content["status"] != "ok":
                raise AssertionError(f"cell failed: {content}")
        elif kind == "status" and content["execution_state"] == "idle":
            idle = True
    assert replied and idle, "kernel did not answer in time"
    return "".join(out), count
