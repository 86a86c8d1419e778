"""``jupyter astro-ops ocat import``: load the observation catalog into the Ocat tables.

Works on the database directly (no server needed), as the importer's admin identity, under
the same rules as the periodic import in the server::

    jupyter astro-ops ocat import --source file:///data/ocat/catalog.csv
    jupyter astro-ops ocat import            # c.OcatImporter.source (and provider_class)

Prints one summary line (added / updated / unchanged / invalid) and one line per refused
record; exit status 0 on success, 1 with the reason on stderr otherwise.
"""

from __future__ import annotations

import sys

from traitlets import Bool, Unicode

from ..core import migrate
from ..core.errors import AstroOpsError
from .base import AstroOpsCommand


class OcatImport(AstroOpsCommand):
    """Import the observation catalog once."""

    description = "Import the Ocat observation catalog (CSV/JSON on an fsspec URL, or a DB)."
    source = Unicode("", config=True,
                     help="Catalog source (default: c.OcatImporter.source).")
    force = Bool(False, config=True, help="Re-apply even if this catalog was imported last.")

    aliases = {**AstroOpsCommand.aliases, "source": "OcatImport.source"}
    flags = {"force": ({"OcatImport": {"force": True}}, "Ignore the last-import tracking.")}

    def run(self) -> int:
        """Do the work; returns the exit status."""
        if not migrate.is_up_to_date(self.db_url):
            print("warning: the database may need `jupyter astro-ops db upgrade`",
                  file=sys.stderr)
        with self.services() as services:
            importer = services.ocat.importer
            try:
                summary = importer.import_catalog(importer.identity(), self.source or None,
                                                  force=self.force)
            except AstroOpsError as exc:
                print(f"import failed: {exc.message}", file=sys.stderr)
                return 1
        if summary.catalog_unchanged:
            print(f"{summary.source}: unchanged since the last import "
                  f"({summary.observations} observations)")
        else:
            print(f"{summary.source}: {len(summary.added)} added, {len(summary.updated)} "
                  f"updated, {summary.unchanged} unchanged, {len(summary.invalid)} invalid")
        for problem in summary.invalid:
            print(f"  invalid: {problem}")
        return 0

    def start(self) -> None:
        self.exit(self.run())


class OcatCommand(AstroOpsCommand):
    """``jupyter astro-ops ocat``."""

    description = "Ocat sign-off tools."
    subcommands = {"import": (OcatImport, OcatImport.description)}

    def start(self) -> None:
        if self.subapp is None:
            self.print_help()
            self.exit(2)
        self.subapp.start()


main = OcatCommand.launch_instance

if __name__ == "__main__":
    main()
