"""Schema creation and upgrade through Alembic; the only way tables come to exist.

Each domain owns a branch of revisions in ``core/migrations/versions`` (file names start with
the domain), so ``upgrade("heads")`` brings every domain to its newest schema. Concurrent
starters are serialized: an advisory lock on PostgreSQL, a file lock beside a SQLite file.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from .db import unpooled_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_LOCK_KEY = 0x_A57_0_0B5  # arbitrary, constant advisory-lock key for migrations


def alembic_config() -> Config:
    """An Alembic ``Config`` pointing at the packaged migration scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


@contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    database = make_url(url).database
    if not database:
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(url: str, action: str, target: str) -> None:
    engine = unpooled_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            with _sqlite_file_lock(url), engine.begin() as conn:
                _alembic(conn, action, target)
        else:
            with engine.connect() as lock_conn:
                lock_conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
                try:
                    with engine.begin() as conn:
                        _alembic(conn, action, target)
                finally:
                    lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                    lock_conn.commit()
    finally:
        engine.dispose()


def _alembic(conn: Connection, action: str, target: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    getattr(command, action)(cfg, target)


def upgrade(url: str, target: str = "heads") -> None:
    """Bring the database at ``url`` up to ``target`` (default: every domain's newest)."""
    _run(url, "upgrade", target)


def downgrade(url: str, target: str = "base") -> None:
    """Undo migrations down to ``target``."""
    _run(url, "downgrade", target)


def current_heads(url: str) -> set[str]:
    """Revisions the database is at now."""
    engine = unpooled_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def is_up_to_date(url: str) -> bool:
    """Whether every head of the packaged scripts is applied.

    Alembic stores only the newest revision of each dependency chain, so a branch head that
    another branch depends on (``activity_0001``) is applied when it is an ancestor of a stored
    head, not only when it is stored itself.
    """
    script = ScriptDirectory.from_config(alembic_config())
    current = current_heads(url)
    if not current:
        return False
    applied = {rev.revision for rev in script.iterate_revisions(tuple(current), "base")}
    return set(script.get_heads()) <= applied
