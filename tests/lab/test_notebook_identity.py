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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from ..client.conftest import make_tree
from ..conftest import USERS
from ..kernel_ws import Kernel
from ..notebooks.conftest import OWNER_TOKEN, free_port, server_config, stop_server, wait_ready

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "staging.ipynb"
pytestmark = pytest.mark.slow


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
        stop_server(proc)


def inject_token(kernel: Kernel, user: str) -> int | None:
    return kernel.give_token(USERS[user][0])


def run_notebook(kernel: Kernel) -> str:
    nb: Any = nbformat.read(NOTEBOOK, as_version=4)
    return "".join(kernel.execute(cell.source)[0] for cell in nb.cells
                   if cell.cell_type == "code")


def test_two_users_each_run_the_staging_notebook_as_themselves(shared_server: str) -> None:
    kernels = {user: Kernel(shared_server, OWNER_TOKEN) for user in ("bob", "carol")}
    try:
        # without a token the kernel is the server owner's, as on any shared server
        probe = "from jupyter_astro_ops.client import AstroOps\nprint(AstroOps().me()" \
                "['identity']['username'])"
        assert kernels["bob"].execute(probe)[0].strip() == "owner"
        texts = {}
        for user, kernel in kernels.items():
            inject_token(kernel, user)
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
        fresh = Kernel(shared_server, OWNER_TOKEN)
        try:
            assert inject_token(fresh, "carol") is not None
            assert fresh.execute("1 + 1")[1] == 1
        finally:
            fresh.close()
    finally:
        for kernel in kernels.values():
            kernel.close()
