"""Entry point of ``jupyter astro-ops``; each subcommand group lives in its own module."""

from __future__ import annotations

from jupyter_core.application import JupyterApp

from .._version import __version__

SUBCOMMANDS = {
    "calendar": ("jupyter_astro_ops.cli.calendar.CalendarCommand", "Telescope calendar tools."),
    "db": ("jupyter_astro_ops.cli.db.DbCommand", "Database schema management."),
    "demo": ("jupyter_astro_ops.demo.cli.DemoCommand", "Write the demo config and seed demo data."),
    "ocat": ("jupyter_astro_ops.cli.ocat.OcatCommand", "Ocat sign-off tools."),
    "planner": ("jupyter_astro_ops.cli.planner.PlannerCommand", "People planner imports and sync."),
    "stage": ("jupyter_astro_ops.cli.stage.StageCommand", "Stage data into the working directory."),
    "worker": ("jupyter_astro_ops.cli.worker.WorkerCommand",
               "Run the background work of a shared deployment (a JupyterHub service)."),
}


class AstroOpsCLI(JupyterApp):
    """Observatory operations from the terminal."""

    name = "jupyter-astro-ops"
    description = "Observatory operations: staging, calendar, database."
    version = __version__
    subcommands = SUBCOMMANDS

    def start(self) -> None:
        if self.subapp is None:
            self.print_help()
            self.exit(2)
        self.subapp.start()


main = AstroOpsCLI.launch_instance

if __name__ == "__main__":
    main()
