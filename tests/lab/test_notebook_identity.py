"""Two users on one shared server each run ``notebooks/staging.ipynb`` as themselves.

This is what the JupyterLab extension does when a notebook's kernel is ready: the server (a
``jupyter server`` subprocess with ``TokenMapIdentityProvider``) starts the kernel, the
logged-in user asks for a kernel token, and a silent execute puts it into the kernel's
``ASTRO_OPS_TOKEN``. The notebook itself is unchanged: ``AstroOps()`` finds the server by its
parent pid (whose own token is the owner's) and acts as the token's user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests
import websocket

from ..client.conftest import make_tree
from ..conftest import USERS
from ..kernel_ws import execute
from ..notebooks.conftest import OWNER_TOKEN, free_port, server_config, wait_ready

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "staging.ipynb"
pytestmark = pytest.mark.slow


class Kernel:
    """One kernel started by the server, driven over its websocket like a frontend would."""

    def __init__(self, url: str) -> None:
        self.url = url
        auth = {"Authorization": f"token {OWNER_TOKEN}"}
        resp = requests.post(url + "api/kernels", json={"name": "python3"}, headers=auth,
                             timeout=30)
        resp.raise_for_status()
        self.id = resp.json()["id"]
        ws_url = url.replace("http://", "ws://") + f"api/kernels/{self.id}/channels"
        self.conn = websocket.create_connection(
            ws_url, header=[f"Authorization: token {OWNER_TOKEN}"], timeout=120)
        self.session = uuid.uuid4().hex

    def execute(self, code: str, silent: bool = False) -> tuple[str, int | None]:
        """Run ``code``; its stdout/results as text, and the execution count it got."""
        return execute(self.conn, self.session, code, silent=silent)

    def close(self) -> None:
        self.conn.close()
        requests.delete(self.url + f"api/kernels/{self.id}",
                        headers={"Authorization": f"token {OWNER_TOKEN}"}, timeout=30)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("shared")
    root_dir, archive, config_dir = tmp / "work", tmp / "archive", tmp / "config"
    for d in (root_dir, archive, config_dir, tmp / "runtime", tmp / "data"):
        d.mkdir()
    make_tree(archive)
    port = free_port()
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps(server_config(tmp, root_dir, archive, port)))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir),
           "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "JUPYTER_DATA_DIR": str(tmp / "data")}
    for var in ("JUPYTER_TOKEN", "ASTRO_OPS_URL", "ASTRO_OPS_TOKEN"):
        env.pop(var, None)
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "jupyter_server", "--allow-root"],
                                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    url = f"http://127.0.0.1:{port}/nb-base/"
    try:
        wait_ready(proc, url, USERS["bob"][0])
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def inject_token(url: str, kernel: Kernel, user: str) -> int | None:
    """What the extension does: a kernel token of ``user``, set by a silent execute."""
    resp = requests.post(url + "astro-ops/api/v1/kernel-tokens", json={"kernel_id": kernel.id},
                         headers={"Authorization": f"token {USERS[user][0]}"}, timeout=30)
    assert resp.status_code == 201, resp.text
    token = resp.json()["token"]
    code = f"import os as _o\n_o.environ['ASTRO_OPS_TOKEN'] = {json.dumps(token)}\ndel _o"
    return kernel.execute(code, silent=True)[1]


def run_notebook(kernel: Kernel) -> str:
    nb: Any = nbformat.read(NOTEBOOK, as_version=4)
    return "".join(kernel.execute(cell.source)[0] for cell in nb.cells
                   if cell.cell_type == "code")


def test_two_users_each_run_the_staging_notebook_as_themselves(shared_server: str) -> None:
    kernels = {user: Kernel(shared_server) for user in ("bob", "carol")}
    try:
        # without a token the kernel is the server owner's, as on any shared server
        probe = "from jupyter_astro_ops.client import AstroOps\nprint(AstroOps().me()" \
                "['identity']['username'])"
        assert kernels["bob"].execute(probe)[0].strip() == "owner"
        texts = {}
        for user, kernel in kernels.items():
            inject_token(shared_server, kernel, user)
            texts[user] = run_notebook(kernel)
        for user, kernel in kernels.items():
            assert "job succeeded ok" in texts[user], texts[user]
            assert "staged 6 files" in texts[user], texts[user]
            who = kernel.execute(probe)[0].strip()
            owners = kernel.execute(
                "print(sorted({j['username'] for j in ops.jobs()}), len(ops.jobs()))")[0]
            assert who == user
            assert owners.strip() == f"['{user}'] 2", owners  # the job and its re-run
        # the silent execute is not a cell: the user's first cell is still In [1]
        fresh = Kernel(shared_server)
        try:
            assert inject_token(shared_server, fresh, "carol") is not None
            assert fresh.execute("1 + 1")[1] == 1
        finally:
            fresh.close()
    finally:
        for kernel in kernels.values():
            kernel.close()
