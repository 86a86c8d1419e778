"""Shared base of the command-line apps: reads the same config files as the Jupyter server.

Each subcommand is a ``JupyterApp`` whose ``config_file_name`` is ``jupyter_server_config``, so
``c.AstroOpsApp.db_url`` and the service settings apply on the command line exactly as they do
in the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jupyter_core.application import JupyterApp
from traitlets import Dict, List, Unicode, default

from ..compose import Services, build_services
from ..core.db import Database, default_db_url


class AstroOpsCommand(JupyterApp):
    """Base for subcommands; loads server config so every trait has its server value."""

    config_file_name = Unicode("jupyter_server_config")
    db_url = Unicode(config=True, help="Database URL (default: as the server extension).")
    roles = Dict(key_trait=Unicode(), value_trait=List(Unicode()), config=True,
                 help="Role map, as c.AstroOpsApp.roles.")

    @default("db_url")
    def _db_url_default(self) -> str:
        from_server = self.config.get("AstroOpsApp", {}).get("db_url")
        if from_server:
            return str(from_server)
        return default_db_url()

    @default("roles")
    def _roles_default(self) -> dict[str, Any]:
        return dict(self.config.get("AstroOpsApp", {}).get("roles", {}))

    aliases = {"db-url": "AstroOpsCommand.db_url", "log-level": "Application.log_level"}

    @contextmanager
    def services(self) -> Iterator[Services]:
        """Every part, built by the composition root on this command's config."""
        db = Database(self.db_url)
        try:
            yield build_services(self, db, roles=self.roles)
        finally:
            db.dispose()
