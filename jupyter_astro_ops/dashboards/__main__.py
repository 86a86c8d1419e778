"""``python -m jupyter_astro_ops.dashboards [--hub] [panel serve options]``: every dashboard.

Runs ``panel serve`` over every script in ``apps/`` with the index at ``/``; any extra options
go to ``panel serve`` (``--port``, ``--address``, ``--basic-auth``, ``--oauth-provider``, ...).
Without a runtime file the database comes from ``ASTRO_OPS_DB_URL`` or the Jupyter config
(see ``context``).

``--hub`` runs the dashboards as one JupyterHub service for every user (``c.JupyterHub.services``
with a ``url`` and this command): address, port and prefix come from the Hub's
``JUPYTERHUB_SERVICE_URL`` and ``JUPYTERHUB_SERVICE_PREFIX``, the login is the Hub's OAuth
(``hub_auth``), and sessions are signed with a secret made at start-up (or
``$ASTRO_OPS_DASH_COOKIE_SECRET`` / ``$BOKEH_SECRET_KEY`` when set), so no session id can be
made up by a page outside the dashboards.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import MutableMapping
from pathlib import Path
from urllib.parse import urlsplit

from .context import HUB_ENV
from .proxy import panel_command

HUB_FLAG = "--hub"


def hub_options(env: MutableMapping[str, str]) -> list[str]:
    """``panel serve`` options of the Hub service, from the Hub's environment (and fill in the
    secrets ``env`` lacks)."""
    url = urlsplit(env.get("JUPYTERHUB_SERVICE_URL", ""))
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX", "")
    if not url.port or not prefix:
        raise SystemExit("--hub: run me as a JupyterHub service with a url "
                         "(JUPYTERHUB_SERVICE_URL and JUPYTERHUB_SERVICE_PREFIX are not set)")
    from . import hub_auth  # fails early, with a clear error, when jupyterhub is missing

    env.setdefault(hub_auth.SECRET_ENV, secrets.token_hex(32))
    env.setdefault("BOKEH_SECRET_KEY", secrets.token_urlsafe(32))
    env[HUB_ENV] = "1"
    return ["--address", url.hostname or "127.0.0.1", "--port", str(url.port),
            "--prefix", prefix.rstrip("/"), "--auth-module", str(Path(hub_auth.__file__)),
            "--cookie-secret", env[hub_auth.SECRET_ENV], "--session-ids", "signed",
            "--allow-websocket-origin", env.get("ASTRO_OPS_DASH_ORIGIN", "*")]


def main(argv: list[str] | None = None) -> None:
    """Replace this process with ``panel serve``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if HUB_FLAG in args:
        args.remove(HUB_FLAG)
        args = hub_options(os.environ) + args
    cmd = panel_command(*args)
    os.execv(cmd[0], cmd)  # noqa: S606 (a fixed argv: our interpreter running panel)


if __name__ == "__main__":
    main()
