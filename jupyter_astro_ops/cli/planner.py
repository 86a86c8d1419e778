"""``jupyter astro-ops planner``: run a planner import, or re-sync the employee directory.

Works on the database directly (no server needed), as the importer's system identity (a
planner admin), under the same rules as the periodic import in the server::

    jupyter astro-ops planner import night --source s3://ops/night-table.csv
    jupyter astro-ops planner import leave --source file:///tmp/loar.json --dry-run
    jupyter astro-ops planner sync

Without ``--source`` the import's entry of ``c.PlannerImporter.sources`` is used. Prints one
summary line and one line per clash and per problem row; exit status 0 on success, 1 with the
reason on stderr otherwise (2 for bad usage).
"""

from __future__ import annotations

import sys

from traitlets import Bool, Unicode

from ..core import migrate
from ..core.errors import AstroOpsError
from .base import AstroOpsCommand

NAMES = ("night", "leave")


class PlannerImport(AstroOpsCommand):
    """Import a night table or a leave file into the planner."""

    description = "Import the night table or approved leave: planner import night|leave."
    source = Unicode("", config=True, help="fsspec URL of the CSV or JSON file to import.")
    dry_run = Bool(False, config=True, help="Report what would change; write nothing.")
    force = Bool(False, config=True, help="Re-apply even if this file was imported last.")

    aliases = {**AstroOpsCommand.aliases, "source": "PlannerImport.source"}
    flags = {
        "dry-run": ({"PlannerImport": {"dry_run": True}}, "Write nothing; print the plan."),
        "force": ({"PlannerImport": {"force": True}}, "Ignore the last-import tracking."),
    }

    def run(self) -> int:
        """Do the work; returns the exit status."""
        name = self.extra_args[0] if self.extra_args else ""
        if name not in NAMES:
            print("usage: jupyter astro-ops planner import night|leave [--source URL] "
                  "[--dry-run]", file=sys.stderr)
            return 2
        if not migrate.is_up_to_date(self.db_url):
            print("warning: the database may need `jupyter astro-ops db upgrade`",
                  file=sys.stderr)
        with self.services() as services:
            importer = services.planner.importer
            source = self.source or importer.sources.get(name, "")
            if not source:
                print(f"give --source (or configure c.PlannerImporter.sources['{name}'])",
                      file=sys.stderr)
                return 2
            try:
                result = importer.run(importer.identity(), name, source,
                                      dry_run=self.dry_run, force=self.force)
            except AstroOpsError as exc:
                print(f"import failed: {exc.message}", file=sys.stderr)
                return 1
        print(result.line())
        for clash in result.clashes:
            print(f"  clash: {clash.day} {clash.key}: {clash.block} blocked by "
                  f"{'; '.join(clash.blocking)}")
        for problem in result.problems:
            print(f"  problem: row {problem.row}: {problem.reason}")
        return 0

    def start(self) -> None:
        self.exit(self.run())


class PlannerSync(AstroOpsCommand):
    """Re-sync the employees from the configured directory."""

    description = "Re-sync the planner's employees from the directory (c.FileDirectory.url)."

    def start(self) -> None:
        with self.services() as services:
            employees = services.planner.employees
            try:
                result = employees.sync(employees.identity())
            except AstroOpsError as exc:
                print(f"sync failed: {exc.message}", file=sys.stderr)
                self.exit(1)
        print(f"{result.source}: listed {result.listed}, added {len(result.added)}, updated "
              f"{len(result.updated)}, deactivated {len(result.deactivated)}, unchanged "
              f"{result.unchanged}, problems {len(result.problems)}")
        for problem in result.problems:
            print(f"  problem: {problem}")
        self.exit(0)


class PlannerCommand(AstroOpsCommand):
    """``jupyter astro-ops planner``."""

    description = "People planner tools."
    subcommands = {"import": (PlannerImport, PlannerImport.description),
                   "sync": (PlannerSync, PlannerSync.description)}

    def start(self) -> None:
        if self.subapp is None:
            self.print_help()
            self.exit(2)
        self.subapp.start()


main = PlannerCommand.launch_instance

if __name__ == "__main__":
    main()
