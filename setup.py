"""Packaging for jupyter_astro_ops (setuptools, as the project layout requires).

Data files put the server-extension switch into ``etc/jupyter/jupyter_server_config.d`` so that
``pip install`` alone enables the extension, and ship the Alembic migrations with the package.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION_FILE = (HERE / "jupyter_astro_ops" / "_version.py").read_text()
VERSION = re.search(r'__version__ = "([^"]+)"', VERSION_FILE).group(1)  # type: ignore[union-attr]
SERVER_CONFIG = "jupyter-config/server-config/jupyter_astro_ops.json"

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
    packages=find_packages(include=["jupyter_astro_ops", "jupyter_astro_ops.*"]),
    include_package_data=True,
    package_data={
        "jupyter_astro_ops": [
            "core/migrations/script.py.mako",
            "*/openapi.json",
            "web/openapi_base.json",
            "demo/*.json",
            "ocat/data/*.json",
            "dashboards/*.svg",
            "labextension/**/*",
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
        "test": [
            "pytest>=8",
            "pytest-jupyter[server]>=0.10",
            "pytest-timeout",
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
    zip_safe=False,
)
