"""The example notebooks run top to bottom against a live server, and do what they say."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from .conftest import LiveServer

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def execute(name: str, server: LiveServer, user: str = "bob") -> tuple[Any, str]:
    """Run ``notebooks/<name>`` as ``user``; returns it with the text of its outputs."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in nb.cells:  # the committed notebooks carry no outputs
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{name}: clear outputs"
    env = {**os.environ, "ASTRO_OPS_URL": server.url, "ASTRO_OPS_TOKEN": server.token(user)}
    client = NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(server.root_dir)}})
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        pytest.fail(f"{name} failed:\n{exc}\n--- server log ---\n{server.log_tail()}")
    finally:
        if os.environ.get("ASTRO_OPS_NB_OUT"):  # keep the executed notebook for a look
            out_dir = Path(os.environ["ASTRO_OPS_NB_OUT"])
            out_dir.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out_dir / name)
    # streams carry their own newlines and may arrive in pieces: join them as they are
    return nb, "".join(_text(out) for cell in nb.cells if cell.cell_type == "code"
                       for out in cell.outputs)


def progress_widgets(nb: Any) -> list[dict[str, Any]]:
    """Final states of the progress-bar widgets (tqdm.auto in a notebook) saved by nbclient."""
    saved = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return [m["state"] for m in saved.get("state", {}).values()
            if m.get("model_name") == "FloatProgressModel"]


def _text(output: Any) -> str:
    if output.get("output_type") == "stream":
        return str(output.get("text", ""))
    data = output.get("data", {})
    return str(data.get("text/plain", "")) + "\n"


def test_staging_notebook(live_server: LiveServer) -> None:
    nb, text = execute("staging.ipynb", live_server)
    assert "job success ok" in text or " ok - " in text, text
    assert f"staged {len(live_server.files)} files" in text, text
    n, total = len(live_server.files), sum(map(len, live_server.files.values()))
    target = live_server.root_dir / "data" / "night1"
    for rel, data in live_server.files.items():
        assert (target / rel).read_bytes() == data, rel
    assert f"re-run succeeded - {n} of {n} files skipped" in text and "FAILED" not in text
    # job.wait() drew two widget bars (files, bytes), both full at the end
    bars = {(b["max"], b["value"]) for b in progress_widgets(nb)}
    assert {(n, n), (total, total)} <= bars, bars
    refused = [line for line in text.splitlines() if line.startswith("refused:")]
    assert len(refused) == 2, text
    assert all(any(code in line for code in (" 400 ", " 403 ", " 404 ")) for line in refused)
    assert not (live_server.root_dir.parent / "outside").exists()


def test_calendar_notebook(live_server: LiveServer) -> None:
    _, text = execute("calendar.ipynb", live_server)
    assert "booking as bob" in text
    assert "saf - Santa Fe (America/Denver)" in text
    assert "booked " in text
    assert "conflict: 409" in text, text
    assert "in the way: calendar.ipynb demo" in text
    assert "overlapping slot free? False" in text
    assert "back-to-back slot free? True" in text
    assert "1 reservation(s)" in text
    assert text.rstrip().endswith("0 reservation(s)"), text
    # the notebook cleans up after itself, so a second run works the same way
    assert "conflict: 409" in execute("calendar.ipynb", live_server)[1]


def test_ocat_notebook(live_server: LiveServer) -> None:
    _, text = execute("ocat.ipynb", live_server, user="alice")
    assert "working as alice" in text
    assert "warning: ACIS needs exactly one of frame_time and most_efficient = Y" in text
    assert "would need: general, acis, acis_si, usint_verification" in text
    assert "warnings: 0" in text
    assert "roll_obsr :" in text and "-> 120.5" in text
    assert "refused: 409 verify only when nothing else is pending" in text
    assert "closed - approved: True" in text
    assert "approvable" in text or "already approved" in text
    assert "on duty:" in text
    # revisions are never deleted: a second run makes the next revision and works the same
    assert "closed - approved: True" in execute("ocat.ipynb", live_server, user="alice")[1]
