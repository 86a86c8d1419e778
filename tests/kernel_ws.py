"""Run code in a Jupyter kernel over its websocket, as a frontend does (shared by the tests of
kernels on a shared server and under JupyterHub)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import requests
import websocket


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


class Kernel:
    """One kernel started through a Jupyter server's REST API with ``token``, driven over its
    websocket like a frontend would."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        auth = {"Authorization": f"token {token}"}
        resp = requests.post(url + "api/kernels", json={"name": "python3"}, headers=auth,
                             timeout=30)
        resp.raise_for_status()
        self.id = resp.json()["id"]
        ws_url = url.replace("http://", "ws://") + f"api/kernels/{self.id}/channels"
        self.conn = websocket.create_connection(
            ws_url, header=[f"Authorization: token {token}"], timeout=120)
        self.session = uuid.uuid4().hex

    def execute(self, code: str, silent: bool = False) -> tuple[str, int | None]:
        """Run ``code``; its stdout/results as text, and the execution count it got."""
        return execute(self.conn, self.session, code, silent=silent)

    def give_token(self, user_token: str) -> int | None:
        """What the lab extension does when a kernel is ready: ask for a kernel token as the
        user (``user_token``) and set it by a silent execute."""
        resp = requests.post(self.url + "astro-ops/api/v1/kernel-tokens",
                             json={"kernel_id": self.id},
                             headers={"Authorization": f"token {user_token}"}, timeout=30)
        assert resp.status_code == 201, resp.text
        token = resp.json()["token"]
        code = f"import os as _o\n_o.environ['ASTRO_OPS_TOKEN'] = {json.dumps(token)}\ndel _o"
        return self.execute(code, silent=True)[1]

    def close(self) -> None:
        self.conn.close()
        requests.delete(self.url + f"api/kernels/{self.id}",
                        headers={"Authorization": f"token {self.token}"}, timeout=30)
