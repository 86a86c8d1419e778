"""Browser-test fixtures: a real ``jupyter server`` subprocess and Debian's headless Chromium.

Kept apart from ``tests/`` on purpose: pytest-playwright and pytest-jupyter's event loops clash
in one session, so this directory has its own ``pytest.ini`` (rootdir) and never loads
``pytest_jupyter``. Never run ``playwright install``: the system Chromium is used.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update",
                 "--disable-sync"]
USERS = {
    "alice": ("ui-tok-alice-0001", ["ops-leads"]),
    "bob": ("ui-tok-bob-000002", ["arcops"]),
    "carol": ("ui-tok-carol-0003", []),
}
ROLES = {"admin": ["group:ops-leads"], "stager": ["bob", "carol"],
         "arcops": ["group:arcops"], "usint": ["carol"]}  # test_ocat.py
BASE_URL = "/astro/"


@dataclass
class Server:
    """A running Jupyter server with the extension."""

    url: str  # http://127.0.0.1:<port>/astro/
    log: Path | None = None  # the server's (and its panel child's) output

    def token(self, user: str) -> str:
        return USERS[user][0]

    def api(self, user: str, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, f"{self.url}astro-ops/api/v1/{path}", json=body,
                                headers={"Authorization": f"token {self.token(user)}"},
                                timeout=30)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium",
            "args": CHROMIUM_ARGS}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_config(root: Path) -> Path:
    from jupyter_astro_ops.dashboards.proxy import PROXY_NAME

    cfg_dir = root / "config"
    cfg_dir.mkdir()
    tokens = {tok: {"username": u, "display_name": u.title(), "groups": g}
              for u, (tok, g) in USERS.items()}
    lines = [
        "c.ServerApp.identity_provider_class = "
        "'jupyter_astro_ops.auth.TokenMapIdentityProvider'",
        f"c.TokenMapIdentityProvider.tokens = {json.dumps(tokens)}",
        f"c.AstroOpsApp.db_url = 'sqlite:///{root}/astro.db'",
        f"c.AstroOpsApp.roles = {json.dumps(ROLES)}",
        "c.ServerApp.jpserver_extensions = {'jupyter_astro_ops': True, "
        "'jupyter_server_proxy': True}",
        # test_ocat.py: a small synthetic catalog, imported at start-up
        "from jupyter_astro_ops.ocat.synthetic import synthetic_catalog, write_catalog",
        f"c.OcatImporter.source = write_catalog(synthetic_catalog(40), "
        f"{(root / 'ocat.json').as_uri()!r})",
    ]
    if PROXY_NAME not in {ep.name for ep in entry_points(group="jupyter_serverproxy_servers")}:
        # setup.py still names the entry point otherwise: register the same entry by config.
        lines += ["from jupyter_astro_ops.dashboards.proxy import proxy_entry",
                  f"c.ServerProxy.servers = {{{PROXY_NAME!r}: proxy_entry()}}"]
    (cfg_dir / "jupyter_server_config.py").write_text("\n".join(lines) + "\n")
    return cfg_dir


def _wait_ready(url: str, proc: subprocess.Popen[bytes], token: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter server exited with {proc.returncode}")
        try:
            if requests.get(f"{url}api/status", timeout=2,
                            headers={"Authorization": f"token {token}"}).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError("jupyter server did not start in 60 s")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("jupyter")
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(_write_config(root)),
           "JUPYTER_RUNTIME_DIR": str(root / "runtime"), "JUPYTER_DATA_DIR": str(root / "data")}
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--allow-root", "--no-browser",
         f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.base_url={BASE_URL}",
         f"--ServerApp.root_dir={root}", "--ServerApp.token=ui-owner-token-0000"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root,
    )
    url = f"http://127.0.0.1:{port}{BASE_URL}"
    try:
        _wait_ready(url, proc, USERS["alice"][0])
        yield Server(url, root / "server.log")
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and whatever it spawned (panel serve) by pid."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        child.kill()
