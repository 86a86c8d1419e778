"""Schemathesis over every operation of the served OpenAPI document, against a live server.

Fails on any 5xx, and on any answer that the document does not describe (status code,
content type, body schema, headers), or input the document forbids that the server accepts.
Runs as a real token user (an admin, so every operation is reachable), on SQLite and on
PostgreSQL, bounded in examples and time; its database of examples is off and its reports go
to a temporary folder, never into the checkout. ``ASTRO_OPS_FUZZ_SEED`` picks another seed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..live import LiveServer

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = os.environ.get("ASTRO_OPS_FUZZ_SEED", "20261201")
NOT_OUR_PREMISE = "missing_required_header,use_after_free"  # see schemathesis.toml


@pytest.mark.slow
def test_the_served_document_survives_schemathesis(live: LiveServer, tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("schemathesis")
    cmd = [
        str(st), "--config-file", str(CONFIG), "run", f"{live.url}astro-ops/api/openapi.json",
        "--url", live.url.rstrip("/"), "-H", f"Authorization: token {live.token('alice')}",
        "--checks", "all", "--exclude-checks", NOT_OUR_PREMISE,
        "--max-examples", "15", "--max-time", "80", "--seed", SEED, "--continue-on-failure",
        "--generation-database", "none", "--generation-allow-x00", "false",
        "--generation-codec", "utf-8", "--suppress-health-check", "filter_too_much,too_slow",
        "--exclude-path", "/astro-ops/api/v1/live",  # a websocket: tests/activity/test_live.py
        "--report", "junit", "--report-dir", str(tmp_path / "reports"), "--no-color",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    tail = run.stdout[-6000:]
    assert run.returncode == 0, f"schemathesis found problems:\n{tail}\n{run.stderr[-2000:]}"
    assert "passed" in tail
    assert live.server_errors() == [], "\n".join(live.server_errors()[:20])
