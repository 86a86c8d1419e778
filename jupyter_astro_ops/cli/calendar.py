"""``jupyter astro-ops calendar import``: import an external schedule into a site's calendar.

Works on the database directly (no server needed), as the system identity ``importer`` with
the calendar admin role, under the same rules as the periodic import in the server::

    jupyter astro-ops calendar import --site saf --source s3://ops/schedules/saf.json
    jupyter astro-ops calendar import --site saf --source file:///tmp/schedule.json --dry-run

Without ``--source`` the site's entry of ``c.LcoImporter.sources`` is used. Prints one
summary line (added/updated/cancelled/unchanged/past/clashes/invalid) and one line per clash;
exit status 0 on success, 1 with the reason on stderr otherwise.
"""

from __future__ import annotations

import sys

from traitlets import Bool, Unicode

from ..core import migrate
from ..core.errors import AstroOpsError
from ..core.timeutil import isoformat
from .base import AstroOpsCommand


class CalendarImport(AstroOpsCommand):
    """Import one schedule file for one site."""

    description = "Import an external (LCO observation portal) schedule for a site."
    site = Unicode("", config=True, help="Site code to import into (e.g. saf).")
    source = Unicode("", config=True, help="fsspec URL of the schedule JSON.")
    dry_run = Bool(False, config=True, help="Report what would change; write nothing.")
    force = Bool(False, config=True, help="Re-apply even if this schedule was imported last.")

    aliases = {
        **AstroOpsCommand.aliases,
        "site": "CalendarImport.site", "source": "CalendarImport.source",
    }
    flags = {
        "dry-run": ({"CalendarImport": {"dry_run": True}}, "Write nothing; print the plan."),
        "force": ({"CalendarImport": {"force": True}}, "Ignore the last-import tracking."),
    }

    def run(self) -> int:
        """Do the work; returns the exit status."""
        if not migrate.is_up_to_date(self.db_url):
            print("warning: the database may need `jupyter astro-ops db upgrade`",
                  file=sys.stderr)
        with self.services() as services:
            importer = services.calendar.importer
            source = self.source or importer.sources.get(self.site, "")
            if not self.site or not source:
                print("give --site and --source (or configure c.LcoImporter.sources)",
                      file=sys.stderr)
                return 2
            try:
                summary = importer.import_schedule(
                    importer.identity(), self.site, source,
                    storage_options=importer.storage_options,
                    filters=importer.filters.get(self.site), dry_run=self.dry_run,
                    force=self.force)
            except AstroOpsError as exc:
                print(f"import failed: {exc.message}", file=sys.stderr)
                return 1
        print(summary.line())
        for clash in summary.clashes:
            names = ", ".join(f"{b['id']} ({b['creator_id']}, {b['origin']})"
                              for b in clash.blocking) or "a concurrent booking"
            print(f"  clash: observation {clash.external_id} {isoformat(clash.start)}.."
                  f"{isoformat(clash.end)} blocked by {names}")
        for problem in summary.invalid:
            print(f"  invalid: {problem}")
        return 0

    def start(self) -> None:
        self.exit(self.run())


class CalendarCommand(AstroOpsCommand):
    """``jupyter astro-ops calendar``."""

    description = "Telescope calendar tools."
    subcommands = {"import": (CalendarImport, CalendarImport.description)}

    def start(self) -> None:
        if self.subapp is None:
            self.print_help()
            self.exit(2)
        self.subapp.start()


main = CalendarCommand.launch_instance

if __name__ == "__main__":
    main()
