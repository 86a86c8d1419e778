"""A real ``jupyter server`` subprocess for executing the example notebooks against.

One server for the package: TokenMapIdentityProvider users (as in tests/conftest.py), a temp
SQLite database, an ``archive`` staging root holding ``night1/``, and the ``saf`` calendar
site. The notebooks' ``AstroOps()`` finds it through ``ASTRO_OPS_URL`` / ``ASTRO_OPS_TOKEN`` in
the kernel's environment; a kernel the server starts itself finds it by its parent pid.
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
from pathlib import Path

import pytest
import requests

from jupyter_astro_ops.ocat.synthetic import synthetic_catalog, write_catalog

from ..client.conftest import make_tree
from ..conftest import ROLES, USERS

START_TIMEOUT = 90.0
OWNER_TOKEN = "owner-token-for-kernel-tests-0001"


@dataclass
class LiveServer:
    url: str
    root_dir: Path
    archive: Path
    log: Path
    files: dict[str, bytes]

    def token(self, user: str) -> str:
        return USERS[user][0]

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_config(tmp: Path, root_dir: Path, archive: Path, port: int) -> dict[str, object]:
    return {
        "ServerApp": {
            "ip": "127.0.0.1", "port": port, "port_retries": 0, "open_browser": False,
            "root_dir": str(root_dir), "base_url": "/nb-base/",
            "jpserver_extensions": {"jupyter_astro_ops": True},
            "identity_provider_class": "jupyter_astro_ops.auth.TokenMapIdentityProvider",
        },
        "IdentityProvider": {"token": OWNER_TOKEN},
        "TokenMapIdentityProvider": {
            "tokens": {tok: {"username": u, "display_name": u.title(), "groups": g}
                       for u, (tok, g) in USERS.items()},
        },
        "AstroOpsApp": {"db_url": f"sqlite:///{tmp}/astro.db", "roles": ROLES},
        "StagingService": {"roots": {"archive": {"url": archive.as_uri()}}},
        "CalendarService": {"sites": {"saf": {"name": "Santa Fe",
                                              "timezone": "America/Denver"}}},
        # ocat.ipynb: a synthetic catalog, imported when the server starts
        "OcatImporter": {"source": write_catalog(synthetic_catalog(30),
                                                 (tmp / "ocat.json").as_uri())},
    }


def wait_ready(proc: subprocess.Popen[bytes], url: str, token: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter server exited with {proc.returncode}")
        try:
            resp = requests.get(url + "api/status", timeout=2,
                                headers={"Authorization": f"token {token}"})
            if resp.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"jupyter server not ready at {url} after {START_TIMEOUT} s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server subprocess: politely, then for good after 20 s."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="package")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("nbserver")
    root_dir, archive, config_dir = tmp / "work", tmp / "archive", tmp / "config"
    for d in (root_dir, archive, config_dir, tmp / "runtime", tmp / "data"):
        d.mkdir()
    files = make_tree(archive)
    port = free_port()
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps(server_config(tmp, root_dir, archive, port)))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir),
           "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "JUPYTER_DATA_DIR": str(tmp / "data")}
    for var in ("JUPYTER_TOKEN", "ASTRO_OPS_URL", "ASTRO_OPS_TOKEN"):
        env.pop(var, None)
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", "--allow-root"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp,
        )
    url = f"http://127.0.0.1:{port}/nb-base/"
    server = LiveServer(url, root_dir, archive, log, files)
    try:
        try:
            wait_ready(proc, url, USERS["bob"][0])
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{server.log_tail()}") from exc
        yield server
    finally:
        stop_server(proc)
