"""Every shipped notebook runs as a demo user would run it, through the demo's own set-up.

``jupyter astro-ops demo`` prepares a fresh demo directory (config with the demo users'
tokens, seeded SQLite, storage roots, the notebooks copied into the working directory from the
package); the server starts the way ``make demo`` starts it (the demo's config, data and
runtime directories); each demo user opens a notebook from the working directory in a kernel
the server starts, the lab extension's kernel token reaches the kernel, and every cell of the
notebook, unchanged, runs without an error, acting as that user. The server logs no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from ..kernel_ws import Kernel
from ..notebooks.conftest import free_port, stop_server, wait_ready

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
SHIPPED = sorted(p.name for p in
                 (Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
# who opens each notebook in the demo: an observer for their data, bookings and whereabouts,
# the ops lead (who may sign every Ocat column) for the sign-off walk-through
OPENED_BY = {"staging.ipynb": "obs1", "calendar.ipynb": "obs2", "planner.ipynb": "obs1",
             "ocat.ipynb": "alice"}


@dataclass
class Demo:
    url: str
    work: Path
    log: Path
    tokens: dict[str, str]  # username -> login token


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    base = tmp_path_factory.mktemp("demo") / ".demo"
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("JUPYTER_TOKEN", "ASTRO_OPS_URL", "ASTRO_OPS_TOKEN", "ASTRO_OPS_DB_URL")}
    subprocess.run([str(BIN / "jupyter-astro-ops"), "demo", f"--dir={base}", f"--port={port}",
                    "--large-file-mib=0"], env=env, check=True, capture_output=True,
                   timeout=300)
    config = json.loads((base / "config" / "jupyter_server_config.json").read_text())
    tokens = {info["username"]: token for token, info in
              config["TokenMapIdentityProvider"]["tokens"].items()}
    env.update(JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_DATA_DIR=str(base / "data"),
               JUPYTER_RUNTIME_DIR=str(base / "runtime"))
    log = base / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN / "jupyter-lab"), "--no-browser", "--allow-root"],
                                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=base.parent)
    base_url = config["ServerApp"].get("base_url", "/")
    url = f"http://127.0.0.1:{port}{base_url}"
    try:
        wait_ready(proc, url, tokens["obs1"])
        yield Demo(url, Path(config["ServerApp"]["root_dir"]), log, tokens)
    finally:
        stop_server(proc)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]


def test_the_demo_ships_every_notebook_into_the_working_directory(demo: Demo) -> None:
    assert SHIPPED and sorted(OPENED_BY) == SHIPPED
    assert sorted(p.name for p in demo.work.glob("*.ipynb")) == SHIPPED


@pytest.mark.parametrize("name", sorted(OPENED_BY))
def test_a_demo_user_runs_the_notebook_as_written(demo: Demo, name: str) -> None:
    user = OPENED_BY[name]
    nb = nbformat.read(demo.work / name, as_version=4)  # the demo's copy, as the user opens it
    kernel = Kernel(demo.url, demo.tokens[user])
    try:
        kernel.give_token(demo.tokens[user])
        outputs = [kernel.execute(cell.source)[0] for cell in nb.cells
                   if cell.cell_type == "code"]
        who = kernel.execute("print(ops.me()['identity']['username'])")[0].strip()
    finally:
        kernel.close()
    assert who == user
    text = "".join(outputs)
    assert "Traceback" not in text and "FAILED" not in text, text
