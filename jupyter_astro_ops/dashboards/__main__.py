"""``python -m jupyter_astro_ops.dashboards [panel serve options]``: every dashboard, standalone.

Runs ``panel serve`` over every script in ``apps/`` with the index at ``/``; any extra options
go to ``panel serve`` (``--port``, ``--address``, ``--basic-auth``, ``--oauth-provider``, ...).
Without a runtime file the database comes from ``ASTRO_OPS_DB_URL`` or the Jupyter config
(see ``context``).
"""

from __future__ import annotations

import os
import sys

from .proxy import panel_command


def main(argv: list[str] | None = None) -> None:
    """Replace this process with ``panel serve``."""
    cmd = panel_command(*(sys.argv[1:] if argv is None else argv))
    os.execv(cmd[0], cmd)  # noqa: S606 (a fixed argv: our interpreter running panel)


if __name__ == "__main__":
    main()
