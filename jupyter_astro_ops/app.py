"""``AstroOpsApp``: the Jupyter server extension. Config traits and wiring, nothing else.

Start-up: open the database, run Alembic migrations, build every part once through the
composition root (``compose.build_services`` with ``parent=self``, so ``c.<Part>.<trait>``
config applies), hand them to handlers through the web settings, start background work (live
feed, request worker, staging runner, LCO imports) once the event loop runs, and leave a
runtime file for the dashboard process.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from tornado.web import RedirectHandler
from traitlets import Bool, Dict, List, Unicode, default

from . import activity, calendar, lab, ocat, planner, staging
from .activity import handlers as activity_handlers
from .activity import schemas as activity_schemas
from .calendar import compat_schemas
from .calendar import handlers as calendar_handlers
from .calendar import schemas as calendar_schemas
from .calendar.lco import schemas as lco_schemas
from .compose import Services, build_services
from .core import migrate
from .core.db import Database, default_db_url
from .core.runtime import runtime_path, write_runtime
from .ical import schemas as ical_schemas
from .lab import handlers as lab_handlers
from .lab import schemas as lab_schemas
from .ocat import handlers as ocat_handlers
from .ocat import schemas as ocat_schemas
from .planner import handlers as planner_handlers
from .planner import import_schemas as planner_import_schemas
from .planner import query_schemas as planner_query_schemas
from .planner import schemas as planner_schemas
from .staging import handlers as staging_handlers
from .staging import schemas as staging_schemas
from .web import openapi
from .web.base import DASHBOARDS_URL_KEY, SERVICES_KEY, NotFoundHandler

# The domain registry: (package with an openapi.json fragment, its handlers, schema modules).
DOMAINS: tuple[tuple[ModuleType, ModuleType, tuple[ModuleType, ...]], ...] = (
    (activity, activity_handlers, (activity_schemas,)),
    (staging, staging_handlers, (staging_schemas,)),
    (calendar, calendar_handlers,
     (calendar_schemas, compat_schemas, lco_schemas, ical_schemas)),
    (lab, lab_handlers, (lab_schemas,)),
    (planner, planner_handlers,
     (planner_schemas, planner_import_schemas, planner_query_schemas)),
    (ocat, ocat_handlers, (ocat_schemas,)),
)
# Config sections the dashboard process must see exactly as the server does.
SHARED_CONFIG_CLASSES = ("AstroOpsApp", "Wiring", "RequestWorker", "FeedHub", "StagingService",
                         "JobStore", "CalendarService", "ICalFeeds", "LcoImporter",
                         "PlannerService", "PlannerHolidays", "PlannerEmployees", "FileDirectory",
                         "PlannerImporter", "PlannerFeeds",
                         "OcatService", "OcatRota", "OcatNotifier", "OcatImporter", "RotaFeed",
                         "Mailer", "SqlCatalog")


class AstroOpsApp(ExtensionApp):
    """Observatory operations inside Jupyter Server."""

    name = "jupyter_astro_ops"
    load_other_extensions = True

    db_url = Unicode(
        config=True,
        help=(
            "SQLAlchemy URL of the database. Default: a SQLite file in the Jupyter data "
            "directory. Use postgresql+psycopg://user@host/db for a database shared by many "
            "users (JupyterHub)."
        ),
    )
    roles = Dict(
        key_trait=Unicode(), value_trait=List(Unicode()), config=True,
        help=(
            "Role name -> members. Members are user names, or 'group:<name>' for every member "
            "of an identity-provider group. 'admin' implies every role."
        ),
    )
    auto_migrate = Bool(
        True, config=True,
        help="Run Alembic migrations at start-up (otherwise run `jupyter astro-ops db upgrade`).",
    )
    run_background = Bool(
        True, config=True,
        help=(
            "Run background work (request worker, staging jobs, periodic imports, reminders, "
            "mail) in this server. The live feed always runs. Under JupyterHub set it to False "
            "on the user servers and run `jupyter astro-ops worker` as a Hub service, which "
            "keeps working while idle servers are culled."
        ),
    )
    dashboards_url = Unicode(
        "", config=True,
        help=(
            "Where the dashboards run when not in this server, e.g. /services/astro-ops-dash/ "
            "(the JupyterHub service `python -m jupyter_astro_ops.dashboards --hub`): the "
            "launcher links there and <base_url>astro-ops/dash/ redirects there. Empty: a Panel "
            "process of this server, started by jupyter-server-proxy on first use."
        ),
    )

    @default("db_url")
    def _default_db_url(self) -> str:
        return default_db_url()

    def initialize_settings(self) -> None:
        if self.auto_migrate:
            migrate.upgrade(self.db_url)
        self.db = Database(self.db_url)
        root_dir = os.path.abspath(os.path.expanduser(self.serverapp.root_dir))
        self.services: Services = build_services(
            self, self.db, roles=self.roles, root_dir=root_dir,
            kernels=self.serverapp.kernel_manager, kernel_events=self.serverapp.event_logger)
        self.settings.update({
            SERVICES_KEY: self.services,
            DASHBOARDS_URL_KEY: self.dashboards_url,
            "astro_ops_openapi": openapi.build_spec(
                [pkg.__name__ for pkg, _, _ in DOMAINS],
                [module for _, _, modules in DOMAINS for module in modules],
                [route for _, handlers, _ in DOMAINS for route in handlers.routes],
            ),
        })
        self._runtime_file = runtime_path(self.serverapp.runtime_dir)
        self._write_runtime_file()

    def initialize_handlers(self) -> None:
        self.handlers.extend(openapi.routes)
        for _, handlers, _ in DOMAINS:
            self.handlers.extend(handlers.routes)
        self.handlers.append((r"/astro-ops/api/.*", NotFoundHandler))  # last: JSON 404s
        if self.dashboards_url:  # before jupyter-server-proxy's route of the same path
            target = self.dashboards_url.rstrip("/") + "/{0}"
            self.handlers.append((r"/astro-ops/dash/?(.*)", RedirectHandler, {"url": target}))

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        await self.services.start(background=self.run_background)

    async def stop_extension(self) -> None:
        await self.services.stop()
        self.db.dispose()
        self._runtime_file.unlink(missing_ok=True)

    def _write_runtime_file(self) -> None:
        server = self.serverapp
        config = {
            name: dict(self.config[name]) for name in SHARED_CONFIG_CLASSES
            if name in self.config
        }
        config.setdefault("AstroOpsApp", {}).update(db_url=self.db_url, roles=dict(self.roles))
        write_runtime(self._runtime_file, {
            "pid": os.getpid(),
            "url": server.connection_url,
            "base_url": server.base_url,
            "root_dir": os.path.abspath(os.path.expanduser(server.root_dir)),
            "config": config,
        })
