"""JupyterLab with the labextension, for ``test_labextension.py``.

``lab``: ``jupyter lab`` at ``/user/obs1/`` (a JupyterHub-like base URL) with the labextension,
``TokenMapIdentityProvider`` users, an ``archive`` staging root of binary files and JupyterLab's
news check off; ``lab_page`` opens it as one user, saves numbered screenshots under
``ui_tests/artifacts/<test>/`` and fails the test on any console error or any request that
leaves the local server. (The dashboards alone run on ``conftest.server``.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest
import requests

from tests.live import free_port

ARTIFACTS = Path(__file__).parent / "artifacts"


def _wait_ready(url: str, proc: subprocess.Popen[bytes], token: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}")
        try:
            if requests.get(f"{url}api/status", timeout=2,
                            headers={"Authorization": f"token {token}"}).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError("jupyter lab did not start in 60 s")


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


LAB_BASE_URL = "/user/obs1/"
LAB_USERS = {
    "obs1": ("ui-lab-obs1-000001", "Observer One", ["arcops"]),
    "obs2": ("ui-lab-obs2-000002", "Observer Two", ["arcops"]),
    "alice": ("ui-lab-alice-00003", "Alice", ["ops-leads"]),
}
LAB_ROLES = {"admin": ["group:ops-leads"], "stager": ["obs1", "obs2"]}
WHOAMI_CELL = ("from jupyter_astro_ops.client import AstroOps\n"
               "print('ME', AstroOps().me()['identity']['username'])")


@dataclass
class Lab:
    """A running JupyterLab with the extension; ``work`` is its root directory."""

    url: str  # http://127.0.0.1:<port>/user/obs1/
    work: Path
    archive: Path
    log: Path

    def token(self, user: str) -> str:
        return LAB_USERS[user][0]

    def api(self, user: str, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, f"{self.url}astro-ops/api/v1/{path}", json=body,
                                headers={"Authorization": f"token {self.token(user)}"},
                                timeout=30)

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _archive(top: Path) -> None:
    """``night1/``: a few binary frames and a ``raw/`` of many small reads (a job of ~1 s)."""
    night = top / "night1"
    (night / "raw").mkdir(parents=True)
    for i in range(3):
        (night / f"frame{i:03d}.fits").write_bytes(
            b"SIMPLE  =                    T" + bytes(range(256)) * (400 + i) + b"\x00\r\n")
    for i in range(1200):
        (night / "raw" / f"read{i:04d}.dat").write_bytes(os.urandom(8192))


def _whoami_notebook(path: Path) -> None:
    path.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": "whoami",
                   "metadata": {}, "outputs": [], "source": WHOAMI_CELL}],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)",
                                    "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }))


def _lab_config(root: Path, archive: Path) -> Path:
    cfg_dir = root / "config"
    cfg_dir.mkdir()
    tokens = {tok: {"username": u, "display_name": name, "groups": groups}
              for u, (tok, name, groups) in LAB_USERS.items()}
    lines = [
        "c.ServerApp.identity_provider_class = "
        "'jupyter_astro_ops.auth.TokenMapIdentityProvider'",
        f"c.TokenMapIdentityProvider.tokens = {json.dumps(tokens)}",
        f"c.AstroOpsApp.db_url = 'sqlite:///{root}/astro.db'",
        f"c.AstroOpsApp.roles = {json.dumps(LAB_ROLES)}",
        f"c.StagingService.roots = {{'archive': {{'url': {archive.as_uri()!r}, "
        "'description': 'raw nights'}}",
        "c.ServerApp.jpserver_extensions = {'jupyterlab': True, 'jupyter_astro_ops': True, "
        "'jupyter_server_proxy': True}",
    ]
    (cfg_dir / "jupyter_server_config.py").write_text("\n".join(lines) + "\n")
    # JupyterLab's news toast and update check stay off (they would also call the internet)
    news = root / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    return cfg_dir


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("lab")
    work, archive = root / "work", root / "archive"
    (work / "data").mkdir(parents=True)
    (root / "outside").mkdir()
    (work / "elsewhere").symlink_to(root / "outside")  # a folder that leaves the root
    _whoami_notebook(work / "whoami.ipynb")
    _archive(archive)
    port = free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(_lab_config(root, archive)),
           "JUPYTER_RUNTIME_DIR": str(root / "runtime"), "JUPYTER_DATA_DIR": str(root / "data"),
           "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces")}
    for var in ("JUPYTER_TOKEN", "ASTRO_OPS_URL", "ASTRO_OPS_TOKEN"):
        env.pop(var, None)
    log_path = root / "lab.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--allow-root", "--no-browser",
         f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.base_url={LAB_BASE_URL}",
         # no owner token, as in the demo: JupyterLab puts the server's own token into every
         # page, so with one set every user of the shared server would act as its owner
         f"--ServerApp.root_dir={work}", "--IdentityProvider.token="],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root,
    )
    url = f"http://127.0.0.1:{port}{LAB_BASE_URL}"
    try:
        _wait_ready(url, proc, LAB_USERS["obs1"][0])
        yield Lab(url, work, archive, log_path)
    finally:
        _stop(proc)
        log.close()


class LabPage:
    """One user's JupyterLab tab, with numbered screenshots and a record of what went wrong."""

    def __init__(self, lab: Lab, page: Any, shots: Path, workspace: str) -> None:
        self.lab, self.page, self.shots, self.workspace = lab, page, shots, workspace
        self.errors: list[str] = []
        self.expected: list[re.Pattern[str]] = []
        self.outside: list[str] = []
        self._n = 0
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(lab.url))
        page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"console: {m.text} @ {m.location.get('url', '')}"))
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("request", lambda r: r.url.startswith((origin, "data:", "blob:", "about:"))
                or self.outside.append(r.url))

    def open(self, user: str) -> Any:
        """Log in with the user's token (Jupyter then keeps a cookie) and wait for the UI.

        Each test gets a fresh JupyterLab workspace of its own (the layout is stored on the
        server, shared by every user of it), so no test sees another's tabs.
        """
        self.page.set_viewport_size({"width": 1400, "height": 900})
        self.page.goto(f"{self.lab.url}lab/workspaces/{self.workspace}"
                       f"?reset&token={self.lab.token(user)}")
        self.page.locator(".jp-Launcher").first.wait_for(timeout=60_000)
        return self.page

    def expect_error(self, pattern: str) -> None:
        """A console error this test provokes on purpose (it must then occur)."""
        self.expected.append(re.compile(pattern))

    def unexpected_errors(self) -> list[str]:
        for pattern in self.expected:
            assert any(pattern.search(e) for e in self.errors), \
                f"the expected console error {pattern.pattern!r} did not occur"
        return [e for e in self.errors if not any(p.search(e) for p in self.expected)]

    def shot(self, name: str) -> Path:
        self._n += 1
        path = self.shots / f"{self._n:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def lab_page(lab: Lab, page: Any, request: pytest.FixtureRequest) -> Iterator[LabPage]:
    shots = ARTIFACTS / request.node.name
    if shots.exists():
        for old in shots.glob("*.png"):
            old.unlink()
    shots.mkdir(parents=True, exist_ok=True)
    workspace = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    helper = LabPage(lab, page, shots, workspace)
    yield helper
    helper.shot("end")
    assert helper.outside == [], f"requests left the local server: {helper.outside}"
    errors = helper.unexpected_errors()
    assert errors == [], "console errors:\n" + "\n".join(errors)
