"""``jupyter astro-ops worker``: the background work of a shared deployment, in one process.

Under JupyterHub each user's server runs only the API (``c.AstroOpsApp.run_background =
False``) and is culled when idle; this command runs the background work for everyone, as a
Hub-managed service (``c.JupyterHub.services``) that outlives the user servers: the activity
request worker, the staging runner (every user's jobs, in ``c.JobStore.home_template``), the
periodic imports, Ocat's reminders and the mail outbox. Several workers may share one
PostgreSQL database: jobs and requests are leased, imports and reminders are serialized, so no
piece of work is done twice, and a worker that dies hands its work over when its leases run
out. SIGTERM or SIGINT stops it cleanly (running staging jobs go back to the queue at once).
"""

from __future__ import annotations

import asyncio
import signal

from traitlets import Bool, Unicode

from ..compose import build_services
from ..core import migrate
from ..core.db import Database
from .base import AstroOpsCommand


class WorkerCommand(AstroOpsCommand):
    """Run the background work of every user until stopped."""

    name = "jupyter-astro-ops-worker"
    description = __doc__
    home_template = Unicode(config=True, help=(
        "Each user's working directory (sets c.JobStore.home_template), e.g. /home/{username}."))
    upgrade = Bool(True, config=True, help="Upgrade the database schema before starting.")

    aliases = {**AstroOpsCommand.aliases, "home-template": "WorkerCommand.home_template"}
    flags = {"no-upgrade": ({"WorkerCommand": {"upgrade": False}},
                            "Do not upgrade the database schema first.")}

    def start(self) -> None:
        if self.home_template:
            self.config.JobStore.home_template = self.home_template
        home = self.config.get("JobStore", {}).get("home_template", "")
        if "{username}" not in str(home):
            self.log.critical("set c.JobStore.home_template (or --home-template), e.g. "
                              "/home/{username}: the worker stages into each user's directory")
            self.exit(2)
        if self.upgrade:
            migrate.upgrade(self.db_url)
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        db = Database(self.db_url)
        services = build_services(self, db, roles=self.roles, root_dir=None)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await services.start(background=True, feed=False)
        self.log.info("astro-ops worker %s: running the background work on %s (homes %s)",
                      services.staging.service.store.owner, db.engine.url.render_as_string(
                          hide_password=True), services.staging.service.store.home_template)
        try:
            await stop.wait()
        finally:
            self.log.info("astro-ops worker: stopping")
            await services.stop()
            db.dispose()


__all__ = ["WorkerCommand"]
