"""jupyter-server-proxy entry: run the Panel dashboards behind the Jupyter login.

``proxy_entry`` is registered as the ``jupyter_serverproxy_servers`` entry point named
``astro-ops/dash``; jupyter-server-proxy uses the entry point's *name* as the URL prefix, so the
dashboards live at ``<base_url>astro-ops/dash/`` (a ``/`` in the name is fine: it only goes
into the route pattern and the launcher's ``path_info``). ``panel serve`` listens on a private
unix socket (no unauthenticated TCP port), so every request passes Jupyter's auth first.

This module runs inside the Jupyter server process and must never import panel.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_runtime_dir
from jupyter_server.serverapp import ServerApp

from ..core.runtime import ENV_VAR, runtime_path
from .registry import INDEX_APP, app_files

PROXY_NAME = "astro-ops/dash"
STATIC_DIR = Path(__file__).parent / "static"
ICON = STATIC_DIR / "icon.svg"
#: where ``panel serve`` serves ``STATIC_DIR`` (below its prefix): the pages' favicon
STATIC_ROUTE = "astro-ops-static"


def panel_command(*extra: str) -> list[str]:
    """``panel serve`` over every app script, with ``index`` at the root, plus ``extra``."""
    return [
        sys.executable, "-m", "panel", "serve", *(str(p) for p in app_files()),
        "--index", INDEX_APP, "--num-procs", "1",
        "--static-dirs", f"{STATIC_ROUTE}={STATIC_DIR}", *extra,
    ]


def _command(unix_socket: str, base_url: str, **_: Any) -> list[str]:
    prefix = f"{base_url.rstrip('/')}/{PROXY_NAME}"
    return panel_command(
        "--unix-socket", unix_socket, "--prefix", prefix,
        "--allow-websocket-origin", "*",
    )


def _server_runtime_dir() -> str:
    """The running ServerApp's runtime directory (it may be configured away from the default)."""
    if ServerApp.initialized():
        return str(ServerApp.instance().runtime_dir)
    return jupyter_runtime_dir()


def _environment(**_: Any) -> dict[str, str]:
    # Called in the Jupyter server process, so getpid() names the file app.py wrote.
    return {ENV_VAR: str(runtime_path(_server_runtime_dir(), os.getpid()))}


def proxy_entry() -> dict[str, Any]:
    """The ``ServerProcess`` settings for jupyter-server-proxy."""
    return {
        "command": _command,
        "environment": _environment,
        "unix_socket": True,
        "absolute_url": True,
        "timeout": 60,
        "launcher_entry": {
            # hidden: the JupyterLab extension adds one "Astro Ops" tile per dashboard instead
            "enabled": False,
            "title": "Astro Ops dashboards",
            "path_info": f"{PROXY_NAME}/",
            "icon_path": str(ICON),
            # jupyter-server-proxy's default: JupyterLab shows icon_url only for this section
            "category": "Notebook",
        },
        "new_browser_tab": True,
    }
