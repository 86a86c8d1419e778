"""The wheel carries what a plain ``pip install`` needs: the server-extension switch, the
Alembic migration scripts and the prebuilt JupyterLab extension (an editable install hides
these omissions, so build a real wheel, and install it where there is no node)."""

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
LABEXT = "data/share/jupyter/labextensions/jupyter-astro-ops"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
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
    return wheels[0]


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
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
def test_wheel_ships_the_example_notebooks(wheel_names: list[str]):
    """``jupyter astro-ops demo`` copies them from the package after a plain pip install."""
    shipped = {n.rsplit("/", 1)[-1] for n in wheel_names
               if n.startswith("jupyter_astro_ops/demo/notebooks/") and n.endswith(".ipynb")}
    expected = {p.name for p in (REPO / "notebooks").glob("*.ipynb")}
    assert expected and shipped == expected, (sorted(expected), sorted(shipped))


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


@pytest.mark.slow
def test_wheel_ships_the_labextension(wheel_names: list[str]):
    data = [n.split(".data/", 1)[1] for n in wheel_names
            if n.startswith("jupyter_astro_ops-") and ".data/" in n]
    ours = {n[len(LABEXT) + 1:] for n in data if n.startswith(LABEXT + "/")}
    assert {"package.json", "install.json", "static/style.js",
            "schemas/jupyter-astro-ops/plugin.json"} <= ours, sorted(ours)
    assert any(re.fullmatch(r"static/remoteEntry\.[0-9a-f]+\.js", n) for n in ours), ours
    assert not any("node_modules" in n or n.endswith(".ts") for n in wheel_names)


@pytest.mark.slow
def test_wheel_installs_a_working_labextension_without_node(wheel: Path, tmp_path: Path):
    """A fresh venv, nothing but its own bin/ on PATH (no node, no npm): the extension from
    the wheel is listed by JupyterLab as enabled and OK."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bindir = venv / "bin"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "VIRTUAL_ENV", "PYTHON"))}
    env.update(PATH=str(bindir), NO_COLOR="1", JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"))
    assert shutil.which("node", path=env["PATH"]) is None
    assert shutil.which("npm", path=env["PATH"]) is None
    # --no-compile: byte-compiling the ~120 dependencies is half the time and not under test
    subprocess.run([str(bindir / "python"), "-m", "pip", "install", "-q", "--no-compile",
                    str(wheel)],
                   check=True, env=env, timeout=600)
    done = subprocess.run([str(bindir / "jupyter"), "labextension", "list"],
                          capture_output=True, text=True, env=env, timeout=120)
    text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    assert re.search(r"jupyter-astro-ops v[\w.]+ enabled OK \(python, jupyter_astro_ops\)",
                     text), text
    assert f"{venv}/share/jupyter/labextensions" in text, text
