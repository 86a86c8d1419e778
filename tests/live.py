"""A real ``jupyter server`` subprocess with the extension, for tests that need a live URL.

Used by the fuzzers (``tests/web``), the browser tests (``ui_tests``) and benchmarks-like
checks: the server runs in its own process (its own event loop, as in production), with
``TokenMapIdentityProvider`` users, a role map, optional staging roots and sites, on SQLite or
PostgreSQL. ``stop()`` also ends what the server spawned (jupyter-server-proxy's
``panel serve``), which pytest-jupyter would leave behind.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """``LiveServer(root, users, roles, db_url).start()`` -> a running server at ``.url``."""

    root: Path
    users: dict[str, tuple[str, list[str]]]  # name -> (token, groups)
    roles: dict[str, list[str]]
    db_url: str
    base_url: str = "/astro/"
    config: dict[str, Any] = field(default_factory=dict)  # more c.<Class>.<trait> = value
    proxy: bool = False  # also enable jupyter-server-proxy (the dashboards)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def token(self, user: str) -> str:
        return self.users[user][0]

    def api(self, user: str | None, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call ``<url>astro-ops/api/v1/<path>`` as ``user`` (``None``: no credentials)."""
        headers = dict(kwargs.pop("headers", {}))
        if user is not None:
            headers["Authorization"] = f"token {self.token(user)}"
        return requests.request(method, f"{self.url}astro-ops/api/v1/{path}", headers=headers,
                                timeout=kwargs.pop("timeout", 30), **kwargs)

    def write_config(self) -> Path:
        cfg_dir = self.root / "config"
        cfg_dir.mkdir(parents=True, exist_ok=True)
        tokens = {tok: {"username": u, "display_name": u.title(), "groups": g}
                  for u, (tok, g) in self.users.items()}
        extensions = {"jupyter_astro_ops": True, "jupyter_server_proxy": self.proxy}
        lines = [
            "c.ServerApp.identity_provider_class = "
            "'jupyter_astro_ops.auth.TokenMapIdentityProvider'",
            f"c.TokenMapIdentityProvider.tokens = {json.dumps(tokens)}",
            f"c.AstroOpsApp.db_url = {self.db_url!r}",
            f"c.AstroOpsApp.roles = {json.dumps(self.roles)}",
            f"c.ServerApp.jpserver_extensions = {extensions!r}",
        ]
        for section, values in self.config.items():
            for name, value in values.items():
                lines.append(f"c.{section}.{name} = {value!r}")
        (cfg_dir / "jupyter_server_config.py").write_text("\n".join(lines) + "\n")
        return cfg_dir

    def start(self, timeout: float = 90.0) -> LiveServer:
        self.port = self.port or free_port()
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(self.write_config()),
               "JUPYTER_RUNTIME_DIR": str(self.root / "runtime"),
               "JUPYTER_DATA_DIR": str(self.root / "data")}
        (self.root / "work").mkdir(exist_ok=True)
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--allow-root", "--no-browser",
             f"--port={self.port}", "--ip=127.0.0.1", f"--ServerApp.base_url={self.base_url}",
             f"--ServerApp.root_dir={self.root / 'work'}",
             "--ServerApp.token=live-owner-token-0000"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        log.close()
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        token = next(iter(self.users.values()))[0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited with {self.proc.returncode}:\n"
                                   + self.log_path.read_text(errors="replace")[-3000:])
            try:
                if requests.get(f"{self.url}api/status", timeout=2,
                                headers={"Authorization": f"token {token}"}).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"jupyter server did not start in {timeout:.0f} s")

    def server_errors(self) -> list[str]:
        """Lines of the server log that report a traceback or an internal error."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        markers = ("Traceback (most recent call last)", "Uncaught exception", " 500 ")
        return [line for line in text.splitlines() if any(m in line for m in markers)]

    def stop(self) -> None:
        """Stop the server and whatever it spawned (panel serve), by pid."""
        if self.proc is None:
            return
        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        _, alive = psutil.wait_procs(children, timeout=10)
        for child in alive:
            child.kill()
        self.proc = None


__all__ = ["LiveServer", "free_port"]
