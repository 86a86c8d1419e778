"""``AstroOps()`` with no arguments, in a kernel the server itself started, finds that server.

This is the real notebook situation: the kernel is a child of the Jupyter server, has no
``ASTRO_OPS_*`` variables, and must match its parent pid against the server's
``jpserver-<pid>.json`` in the runtime directory to learn the URL and token.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import requests
import websocket

from .conftest import OWNER_TOKEN, LiveServer

CODE = """
from jupyter_astro_ops.client import AstroOps
ops = AstroOps()
print("SOURCE", ops.server.source)
print("USER", ops.me()["identity"]["username"])
print("SITES", sorted(s["code"] for s in ops.sites()))
"""


def execute_in_kernel(server: LiveServer, code: str, timeout: float = 90.0) -> str:
    """Start a kernel through the server's REST API, run ``code``, return its stdout."""
    auth = {"Authorization": f"token {OWNER_TOKEN}"}
    kernel = requests.post(server.url + "api/kernels", json={"name": "python3"},
                           headers=auth, timeout=30).json()
    ws_url = server.url.replace("http://", "ws://") + f"api/kernels/{kernel['id']}/channels"
    conn = websocket.create_connection(ws_url, header=[f"Authorization: token {OWNER_TOKEN}"],
                                       timeout=timeout)
    try:
        msg_id = uuid.uuid4().hex
        conn.send(json.dumps(_execute_request(msg_id, code)))
        return _collect(conn, msg_id, time.monotonic() + timeout)
    finally:
        conn.close()
        requests.delete(server.url + f"api/kernels/{kernel['id']}", headers=auth, timeout=30)


def _execute_request(msg_id: str, code: str) -> dict[str, Any]:
    return {
        "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }


def _collect(conn: Any, msg_id: str, deadline: float) -> str:
    out: list[str] = []
    while time.monotonic() < deadline:
        msg = json.loads(conn.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            out.append("ERROR " + "\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(out)
    raise TimeoutError("kernel did not finish in time: " + "".join(out))


def test_kernel_started_by_the_server_finds_it(live_server: LiveServer) -> None:
    out = execute_in_kernel(live_server, CODE)
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines() if " " in line)
    assert lines.get("SOURCE", "").startswith("server pid "), out
    assert lines["USER"] == "owner"  # the server's own token, read from its runtime file
    assert lines["SITES"] == "['saf']"
