"""``AstroOpsApp``: the Jupyter server extension. Config traits and wiring, nothing else.

Start-up: open the database, run Alembic migrations, build each domain service once (with
``parent=self`` so ``c.<Service>.<trait>`` config applies), hand them to handlers through the
web settings, start background runners (activity worker and feed, staging jobs, ...) once the
event loop runs, and leave a runtime file for the dashboard process.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, List, Type, Unicode, default

from . import activity, calendar, lab, staging
from .activity import handlers as activity_handlers
from .activity import schemas as activity_schemas
from .activity.service import ActivityService
from .calendar import handlers as calendar_handlers
from .calendar import schemas as calendar_schemas
from .calendar.service import CalendarService
from .core import migrate
from .core.db import Database, default_db_url
from .core.identity import RoleMap
from .core.runtime import runtime_path, write_runtime
from .lab import handlers as lab_handlers
from .lab import schemas as lab_schemas
from .lab.kernel_tokens import SERVICE_NAME as KERNEL_TOKENS
from .lab.kernel_tokens import KernelTokenStore
from .staging import handlers as staging_handlers
from .staging import schemas as staging_schemas
from .staging.service import StagingService
from .web import openapi
from .web.base import ROLEMAP_KEY, SERVICES_KEY

DOMAINS: tuple[tuple[ModuleType, ModuleType, ModuleType], ...] = (
    (activity, activity_handlers, activity_schemas),
    (staging, staging_handlers, staging_schemas),
    (calendar, calendar_handlers, calendar_schemas),
    (lab, lab_handlers, lab_schemas),
)
SHARED_CONFIG_CLASSES = ("AstroOpsApp", "ActivityService", "StagingService", "CalendarService")


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
        help="Run background work (activity worker, live feed, staging jobs) in this server.",
    )
    activity_service_class = Type(
        ActivityService, klass=ActivityService, config=True,
        help="Class of the activity service (swap in a subclass for tests or plug-ins).",
    )
    staging_service_class = Type(
        StagingService, klass=StagingService, config=True,
        help="Class of the staging service.",
    )
    calendar_service_class = Type(
        CalendarService, klass=CalendarService, config=True,
        help="Class of the calendar service.",
    )

    @default("db_url")
    def _default_db_url(self) -> str:
        return default_db_url()

    def initialize_settings(self) -> None:
        if self.auto_migrate:
            migrate.upgrade(self.db_url)
        self.db = Database(self.db_url)
        self.role_map = RoleMap(self.roles)
        act = self.activity_service_class(parent=self, db=self.db)
        root_dir = os.path.abspath(os.path.expanduser(self.serverapp.root_dir))
        self.services: dict[str, Any] = {
            "activity": act,
            "staging": self.staging_service_class(
                parent=self, db=self.db, activity=act, root_dir=root_dir
            ),
            "calendar": self.calendar_service_class(parent=self, db=self.db, activity=act),
            KERNEL_TOKENS: KernelTokenStore(parent=self, kernels=self.serverapp.kernel_manager,
                                            events=self.serverapp.event_logger),
        }
        self.settings.update({
            SERVICES_KEY: self.services,
            ROLEMAP_KEY: self.role_map,
            "astro_ops_openapi": openapi.build_spec(
                [pkg.__name__ for pkg, _, _ in DOMAINS], [s for _, _, s in DOMAINS]
            ),
        })
        self._runtime_file = runtime_path(self.serverapp.runtime_dir)
        self._write_runtime_file()

    def initialize_handlers(self) -> None:
        self.handlers.extend(openapi.routes)
        for _, handlers, _ in DOMAINS:
            self.handlers.extend(handlers.routes)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        if self.run_background:
            for service in self.services.values():
                await service.start()

    async def stop_extension(self) -> None:
        for service in reversed(list(self.services.values())):
            await service.stop()
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
