"""``jupyter astro-ops db upgrade|current``: schema migrations from the command line."""

from __future__ import annotations

from ..core import migrate
from .base import AstroOpsCommand


class DbUpgrade(AstroOpsCommand):
    """Create or upgrade the schema to the newest revision of every domain."""

    description = "Create or upgrade the database schema (Alembic)."

    def start(self) -> None:
        migrate.upgrade(self.db_url)
        print(f"database at {sorted(migrate.current_heads(self.db_url))}")


class DbCurrent(AstroOpsCommand):
    """Print the revisions the database is at, and whether that is the newest."""

    description = "Show the schema revision of the database."

    def start(self) -> None:
        heads = sorted(migrate.current_heads(self.db_url))
        state = "up to date" if migrate.is_up_to_date(self.db_url) else "needs upgrade"
        print(f"{heads} ({state})")


class DbCommand(AstroOpsCommand):
    """``jupyter astro-ops db``."""

    description = "Database schema management."
    subcommands = {
        "upgrade": (DbUpgrade, DbUpgrade.description),
        "current": (DbCurrent, DbCurrent.description),
    }

    def start(self) -> None:
        if self.subapp is None:
            self.print_help()
            self.exit(2)
        self.subapp.start()
