"""Per-process context of the dashboard server: config, database, services, live feed.

Behind jupyter-server-proxy the Jupyter server hands us ``$ASTRO_OPS_RUNTIME_FILE`` (see
``core.runtime``) with its URL, base URL and effective config, so the dashboards use exactly the
same database and role rules. Standalone (plain ``panel serve``) the config comes from the
environment and the Jupyter config files:

* ``ASTRO_OPS_DB_URL``: SQLAlchemy URL (else ``c.AstroOpsApp.db_url`` from
  ``jupyter_server_config.{json,py}`` on the Jupyter config path, else the default SQLite file);
* ``ASTRO_OPS_ROLES``: JSON ``{"role": ["user", "group:name"]}`` (else ``c.AstroOpsApp.roles``).

As the JupyterHub service of every user (``python -m jupyter_astro_ops.dashboards --hub``,
``$ASTRO_OPS_DASH_HUB`` set) the config is the standalone one, identity comes from the Hub
(``hub_auth``), and each user's staging jobs target that user's home
(``c.JobStore.home_template``), where the worker service runs them.

One ``Context`` per process holds one ``Database`` and the ``Services`` built from it by the
composition root (``compose.build_services``), exactly as the Jupyter server builds its own.
The live feed starts on the panel server's event loop at first use (``ctx.feed()``); the
staging runner starts here only when no Jupyter server and no worker runs the jobs
(standalone).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from pathlib import Path

from jupyter_core.paths import jupyter_config_path
from traitlets.config import Config, Configurable
from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

from ..activity.feed import FeedHub
from ..compose import Services, build_services
from ..core.db import DB_URL_ENV, Database, default_db_url
from ..core.identity import RoleMap
from ..core.runtime import read_runtime

log = logging.getLogger(__name__)
DB_ENV = DB_URL_ENV
ROLES_ENV = "ASTRO_OPS_ROLES"
HUB_ENV = "ASTRO_OPS_DASH_HUB"


def load_jupyter_config() -> Config:
    """Merge ``jupyter_server_config`` (``.d/*.json``, ``.json``, ``.py``) from the Jupyter
    config path, lowest priority first, as Jupyter itself does (the user's directory wins)."""
    merged = Config()
    for directory in reversed(jupyter_config_path()):
        base = Path(directory)
        for piece in sorted((base / "jupyter_server_config.d").glob("*.json")):
            merged.merge(JSONFileConfigLoader(piece.name, path=str(piece.parent)).load_config())
        for loader_cls, name in ((JSONFileConfigLoader, "jupyter_server_config.json"),
                                 (PyFileConfigLoader, "jupyter_server_config.py")):
            if (base / name).is_file():
                merged.merge(loader_cls(name, path=directory).load_config())
    return merged


def standalone_config() -> Config:
    """Config for plain ``panel serve``: Jupyter config files, then environment overrides."""
    config = load_jupyter_config()
    app = config.AstroOpsApp
    if os.environ.get(DB_ENV):
        app.db_url = os.environ[DB_ENV]
    if os.environ.get(ROLES_ENV):
        app.roles = json.loads(os.environ[ROLES_ENV])
    if not app.get("db_url"):
        app.db_url = default_db_url()
    return config


class Context:
    """Database and services shared by every session of this process."""

    def __init__(self, config: Config, *, server_url: str | None = None,
                 base_url: str = "/", root_dir: str | None = None, hub: bool = False) -> None:
        self.config = config
        self.server_url = server_url
        self.base_url = base_url
        self.hub = hub
        self.root_dir = None if hub else root_dir or os.getcwd()
        app = config.AstroOpsApp
        self.db = Database(str(app.db_url))
        self.services: Services = build_services(
            Configurable(config=config), self.db, roles=dict(app.get("roles", {})),
            root_dir=self.root_dir)
        self._start_lock: asyncio.Lock | None = None

    @property
    def role_map(self) -> RoleMap:
        return self.services.roles

    @property
    def behind_jupyter(self) -> bool:
        """True when started by the Jupyter server (identity comes from its ``/api/me``)."""
        return self.server_url is not None

    @property
    def runs_jobs(self) -> bool:
        """True when no Jupyter server and no worker service runs this process's jobs."""
        return not self.behind_jupyter and not self.hub

    @classmethod
    def from_environment(cls) -> Context:
        """Build from the runtime file if there is one, else standalone config."""
        if os.environ.get(HUB_ENV):
            return cls(standalone_config(), hub=True)
        info = read_runtime()
        if info is None:
            return cls(standalone_config())
        return cls(Config(info.get("config", {})), server_url=info.get("url"),
                   base_url=info.get("base_url", "/"), root_dir=info.get("root_dir"))

    async def feed(self) -> FeedHub:
        """The process-wide activity ``FeedHub``, started on the running loop at first use.

        Standalone (no Jupyter server to run staging jobs), the staging runner starts too.
        """
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            feed = self.services.activity.feed
            if not feed.running:
                self.services.activity.remote.start()  # other processes' commits wake us
                await feed.start()
                if self.runs_jobs:
                    log.info("dashboards: no Jupyter server, running staging jobs here")
                    await self.services.staging.runner.start()
        return feed

    async def feed_from_now(self) -> tuple[FeedHub, int]:
        """``feed()`` and its cursor now. A page reads them before its first load and then
        follows the feed since that cursor, so nothing committed while it loaded is missed
        (at most one extra reload)."""
        feed = await self.feed()
        return feed, feed.cursor

    def close(self) -> None:
        """Dispose of the engine (tests and notebooks)."""
        self.db.dispose()


_CONTEXT: Context | None = None
_CONTEXT_LOCK = threading.Lock()


def get_context() -> Context:
    """The process-wide ``Context`` (built on first use)."""
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            _CONTEXT = Context.from_environment()
        return _CONTEXT
