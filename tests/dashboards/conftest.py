"""Fixtures of the dashboard tests: the proxy enabled at a plain base URL, and no orphans."""

from __future__ import annotations

import os
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

import psutil
import pytest

from jupyter_astro_ops.dashboards.proxy import PROXY_NAME, proxy_entry


def _is_panel(proc: psutil.Process) -> bool:
    try:
        cmd = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return "panel" in cmd and "serve" in cmd


@pytest.fixture(autouse=True)
def reap_panel() -> Iterator[None]:
    """pytest-jupyter does not stop proxy-spawned processes: terminate our panel children."""
    yield
    mine = [p for p in psutil.Process(os.getpid()).children(recursive=True) if _is_panel(p)]
    for proc in mine:
        proc.terminate()
    _, alive = psutil.wait_procs(mine, timeout=10)
    for proc in alive:
        proc.kill()


@pytest.fixture
def jp_base_url() -> str:
    # pytest-jupyter's default /a%40b/ is double-escaped by jupyter-server-proxy (404).
    return "/astro/"


def proxy_servers() -> dict[str, Any]:
    """``ServerProxy.servers`` config, only while setup.py still names the entry point otherwise."""
    names = {ep.name for ep in entry_points(group="jupyter_serverproxy_servers")}
    return {} if PROXY_NAME in names else {PROXY_NAME: proxy_entry()}


@pytest.fixture
def astro_config(tmp_path: Any) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_astro_ops": True,
                                              "jupyter_server_proxy": True}},
        "ServerProxy": {"servers": proxy_servers()},
    }
