"""Packaging for jupyter_astro_ops (setuptools, as the project layout requires).

Data files put the server-extension switch into ``etc/jupyter/jupyter_server_config.d`` so that
``pip install`` alone enables the extension, and ship the Alembic migrations with the package.

The JupyterLab extension (TypeScript in ``labextension/``) is built into
``jupyter_astro_ops/labextension/`` (git-ignored) and shipped as data files under
``share/jupyter/labextensions/jupyter-astro-ops/`` with its ``install.json``. A wheel or
``pip install .`` uses that output when it is there (``make`` builds it) and otherwise builds it
with npm first, so a wheel always carries the extension and installs without node. Editable
installs never build it: ``make`` links the output into the environment instead.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
VERSION_FILE = (HERE / "jupyter_astro_ops" / "_version.py").read_text()
VERSION = re.search(r'__version__ = "([^"]+)"', VERSION_FILE).group(1)  # type: ignore[union-attr]
SERVER_CONFIG = "jupyter-config/server-config/jupyter_astro_ops.json"
LABEXT_SRC = HERE / "labextension"
LABEXT_OUT = HERE / "jupyter_astro_ops" / "labextension"
LABEXT_DEST = "share/jupyter/labextensions/jupyter-astro-ops"


def build_labextension() -> None:
    """Build the JupyterLab extension with npm, unless its output is already there."""
    if (LABEXT_OUT / "package.json").exists() and (LABEXT_OUT / "static" / "style.js").exists():
        return
    npm = shutil.which("npm")
    if npm is None or not (LABEXT_SRC / "package.json").exists():
        sys.exit("jupyter_astro_ops: the JupyterLab extension is not built, and npm or its "
                 "sources (labextension/) are missing; build it with `make labext-build` in a "
                 "checkout that has node")
    # `jupyter-builder` comes with jupyterlab, a build requirement: its scripts sit next to
    # the interpreter running this build (pip's build environment or the venv)
    bindir = os.path.dirname(sys.executable)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    if not (LABEXT_SRC / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=LABEXT_SRC, env=env,
                       check=True)
    subprocess.run([npm, "run", "build:prod"], cwd=LABEXT_SRC, env=env, check=True)


def labextension_data_files() -> list[tuple[str, list[str]]]:
    """``(target dir, [files])`` for the built extension and its ``install.json``."""
    out: list[tuple[str, list[str]]] = [(LABEXT_DEST, ["labextension/install.json"])]
    for folder, _, files in sorted(os.walk(LABEXT_OUT)):
        rel = os.path.relpath(folder, LABEXT_OUT)
        dest = LABEXT_DEST if rel == "." else f"{LABEXT_DEST}/{rel}"
        paths = [os.path.relpath(os.path.join(folder, f), HERE) for f in sorted(files)]
        if paths:
            out.append((dest, paths))
    return out


class BuildPyWithLabextension(build_py):
    """``build_py`` that first makes sure the JupyterLab extension is built and shipped."""

    def run(self) -> None:
        if not self.editable_mode:
            build_labextension()
        super().run()
        if not self.editable_mode:
            # After build_py has collected package data (these are data files, not package
            # data); install_data holds this very list, so extending it in place ships them.
            self.distribution.data_files.extend(labextension_data_files())


setup(
    name="jupyter_astro_ops",
    version=VERSION,
    description=(
        "Observatory operations inside JupyterLab: staging, reservations, planner, "
        "Ocat sign-off."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # the example notebooks live in notebooks/ (the tests execute them there) and ship as
    # jupyter_astro_ops/demo/notebooks, which `jupyter astro-ops demo` copies from a wheel
    packages=[*find_packages(include=["jupyter_astro_ops", "jupyter_astro_ops.*"]),
              "jupyter_astro_ops.demo.notebooks"],
    package_dir={"jupyter_astro_ops.demo.notebooks": "notebooks"},
    include_package_data=True,
    package_data={
        "jupyter_astro_ops.demo.notebooks": ["*.ipynb"],
        "jupyter_astro_ops": [
            "core/migrations/script.py.mako",
            "*/openapi.json",
            "web/openapi_base.json",
            "demo/*.json",
            "ocat/data/*.json",
            "dashboards/static/*",
        ],
    },

    data_files=[
        ("etc/jupyter/jupyter_server_config.d", [SERVER_CONFIG]),
    ],
    install_requires=[
        "jupyter_server>=2.14,<3",
        "jupyterlab>=4.2,<5",
        "jupyter-server-proxy>=4.4",
        "tornado>=6.4",
        "traitlets>=5.14",
        "sqlalchemy>=2.0.30",
        "alembic>=1.13",
        "pydantic>=2.7",
        "fsspec>=2024.6",
        "xxhash>=3.4",  # staging checksums: xxh3_128 hashes at memory speed, sha256 does not
        "panel>=1.5",
        "param>=2.1",
        "tqdm>=4.66",
        "ipywidgets>=8.1",  # tqdm.auto draws widget progress bars in JupyterLab
        "icalendar>=6.0",
        "requests>=2.31",
        "websocket-client>=1.7",
    ],
    extras_require={
        "postgres": ["psycopg[binary]>=3.1"],
        "s3": ["s3fs>=2024.6"],
        "sftp": ["paramiko"],
        # JupyterHub deployments: the user servers' jupyterhub-singleuser and the dashboards'
        # Hub service (its OAuth client); PostgreSQL for the shared database
        "hub": ["jupyterhub>=5.2", "psycopg[binary]>=3.1"],
        # benchmarks/ --profile samples the server under test with py-spy
        "bench": ["py-spy>=0.4"],
        "test": [
            "jupyterhub>=5.2",  # tests/hub: a real Hub, its spawner, authenticator and OAuth
            "pytest>=8",
            "pytest-jupyter[server]>=0.10",
            "pytest-timeout",
            "pytest-xdist",  # make test runs the suite in two processes (18.5 -> 11.5 min)
            "psutil",
            "psycopg[binary]>=3.1",
            "s3fs>=2024.6",  # unpinned, pip may back-track to s3fs 0.4 for botocore
            "moto[s3]>=5",
            "flask",
            "flask-cors",
            "aiosmtpd",
            "nbclient",
            "nbformat",
            "ipykernel",
            "playwright",
            "pytest-playwright",
            "schemathesis>=4.0",  # the OpenAPI fuzzer of tests/web/test_fuzz_schema.py
            "ruff",
            "mypy",
        ],
    },
    entry_points={
        "console_scripts": ["jupyter-astro-ops = jupyter_astro_ops.cli.main:main"],
        "jupyter_serverproxy_servers": [
            "astro-ops/dash = jupyter_astro_ops.dashboards.proxy:proxy_entry",
        ],
    },
    cmdclass={"build_py": BuildPyWithLabextension},
    zip_safe=False,
)
