"""The wheel carries what a plain ``pip install`` needs: the server-extension switch and the
Alembic migration scripts (an editable install hides both omissions, so build a real wheel)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SERVER_SWITCH = "data/etc/jupyter/jupyter_server_config.d/jupyter_astro_ops.json"


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    # Build from a copy: setuptools writes build/ and *.egg-info into the source tree.
    src = tmp_path_factory.mktemp("src") / "jupyter_astro_ops"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
        ".venv", ".git", ".demo", "build", "dist", "*.egg-info", "__pycache__", "node_modules",
        ".*_cache"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
        check=True, timeout=600,
    )
    wheels = list(out.glob("jupyter_astro_ops-*.whl"))
    assert len(wheels) == 1, wheels
    with zipfile.ZipFile(wheels[0]) as zf:
        return zf.namelist()


@pytest.mark.slow
def test_wheel_enables_the_server_extension(wheel_names: list[str]):
    hits = [n for n in wheel_names
            if n.startswith("jupyter_astro_ops-") and n.endswith(".data/" + SERVER_SWITCH)]
    assert hits, "server config JSON missing from the wheel's data files"


@pytest.mark.slow
def test_wheel_ships_every_migration_script(wheel_names: list[str]):
    versions = REPO / "jupyter_astro_ops" / "core" / "migrations" / "versions"
    expected = {f"jupyter_astro_ops/core/migrations/versions/{p.name}"
                for p in versions.glob("*.py")}
    assert expected, "no migration scripts in the source tree"
    assert expected <= set(wheel_names), sorted(expected - set(wheel_names))
    assert "jupyter_astro_ops/core/migrations/env.py" in wheel_names
    assert "jupyter_astro_ops/core/migrations/script.py.mako" in wheel_names


@pytest.mark.slow
def test_wheel_ships_openapi_fragments(wheel_names: list[str]):
    assert "jupyter_astro_ops/web/openapi_base.json" in wheel_names
    for domain in ("activity", "staging", "calendar"):
        assert f"jupyter_astro_ops/{domain}/openapi.json" in wheel_names


@pytest.mark.slow
def test_installed_environment_enables_the_extension(tmp_path: Path):
    """What ``make`` installs (or ``pip install``) shows up as enabled and valid in Jupyter."""
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path), "NO_COLOR": "1"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter-server")), "extension", "list"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    section = text.split(f"Config dir: {sys.prefix}/etc/jupyter", 1)
    assert len(section) == 2, text
    ours = section[1].split("Config dir:", 1)[0]
    assert re.search(r"jupyter_astro_ops\s+enabled", ours), text
    assert re.search(r"jupyter_astro_ops [\w.]+\s+OK", ours), text
