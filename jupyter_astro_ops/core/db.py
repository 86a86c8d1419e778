"""Database access: the declarative ``Base``, an aware-UTC column type and ``Database``.

``Database`` owns one SQLAlchemy engine and hands out sessions as transactions:

* ``db.read()`` for queries;
* ``db.write()`` for changes. On SQLite a write transaction starts with ``BEGIN IMMEDIATE`` so
  writers are serialized up front (check-then-write rules such as "no double booking" hold, and
  no writer dies on a lock upgrade); the threads of one process queue on a lock before it, so
  they never sleep in SQLite's busy handler. WAL mode keeps readers running beside the writer;
  its checkpoints run on a thread of their own (``checkpoint.WalCheckpointer``). On
  PostgreSQL a write is an ordinary transaction and invariants are backed by constraints and
  row locks in the services.

``serialize(session, name)`` makes one kind of background work (an import, the reminders) run
in one process at a time however many workers share the database.

All methods are synchronous; async callers run them through ``asyncio.to_thread``, or, for one
short SQLite write, on the event loop inside ``db.no_wait()``, which raises ``WriterBusy``
instead of waiting for another writer (the caller then goes to a thread).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from sqlalchemy import DateTime, MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from .checkpoint import WalCheckpointer
from .fairlock import FairLock
from .timeutil import as_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every ORM row; constraint names are stable for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always stored and returned as aware UTC.

    SQLite has no time zones and returns naive values; this type re-attaches UTC so that
    comparisons never mix naive and aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        aware = as_utc(value)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


class WriterBusy(Exception):
    """A write inside ``Database.no_wait()`` would have had to wait for another writer; it
    raised before anything was written."""


class _NoWait:
    """The state of one ``no_wait`` block: has its first write transaction begun?"""

    __slots__ = ("first",)

    def __init__(self) -> None:
        self.first = True


_NO_WAIT: ContextVar[_NoWait | None] = ContextVar("astro_ops_no_wait", default=None)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, a busy timeout, foreign keys, and explicit BEGIN control for pysqlite."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is broken).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # Database's WalCheckpointer does it
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # on the driver: SQLAlchemy's execution layers cost more than BEGIN itself; a busy
        # timeout still raises SQLAlchemy's OperationalError, as exec_driver_sql did
        write = conn.get_execution_options().get("astro_write")
        sql = "BEGIN IMMEDIATE" if write else "BEGIN"
        raw = conn.connection.dbapi_connection
        no_wait = _NO_WAIT.get() if write else None
        if no_wait is not None and not no_wait.first:
            no_wait = None  # a later write of the block waits as any other
        if no_wait is not None:
            # another process holds the database: say so at once instead of waiting in
            # SQLite's busy handler (the caller then waits on a thread, not on the event loop)
            no_wait.first = False
            raw.execute("PRAGMA busy_timeout=0")
        try:
            raw.execute(sql)
        except sqlite3.Error as exc:
            if no_wait is not None and getattr(exc, "sqlite_errorcode", 0) == sqlite3.SQLITE_BUSY:
                raise WriterBusy(str(exc)) from exc
            raise DBAPIError.instance(sql, (), exc, sqlite3.Error, dialect=conn.dialect) from exc
        finally:
            if no_wait is not None:
                raw.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")


def serialize(session: Session, name: str) -> None:
    """Hold the lock ``name`` until ``session``'s write transaction ends: the next writer asking
    for it waits, then sees everything this one committed. PostgreSQL: a transaction-scoped
    advisory lock; SQLite: nothing to do (``BEGIN IMMEDIATE`` serializes every writer)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big",
                             signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


class Database:
    """One engine plus transactional session factories for reads and writes."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 30_000, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
            if ":memory:" in url or url.rstrip("/") == "sqlite:":
                raise ValueError("use a file-backed SQLite database; :memory: is per connection")
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
        self.engine = create_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            _configure_sqlite(self.engine, busy_timeout_ms)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(astro_write=True), expire_on_commit=False
        )
        # SQLite: this process's writers queue here, in order, not in SQLite's busy handler
        # (which sleeps 1, 2, 5, 10 ... ms between tries); other processes still meet the
        # busy timeout
        self._writers = FairLock() if self.dialect == "sqlite" else None
        self._writer_wait = busy_timeout_ms / 1000
        self._checkpointer = WalCheckpointer(self._main_file,
                                             busy_timeout=busy_timeout_ms / 1000) \
            if self.dialect == "sqlite" else None

    def _main_file(self) -> str:
        """SQLite: the path of the database file, as SQLite resolved the URL."""
        raw = self.engine.raw_connection()
        try:
            return str(raw.cursor().execute("PRAGMA database_list").fetchone()[2])
        finally:
            raw.close()

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; rolled back at the end."""
        with self._read() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error."""
        with self._writer_turn(), self._write() as session, session.begin():
            yield session

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """SQLite: wait for this process's writers before us (in order), at most the busy
        timeout, as SQLite would have; PostgreSQL: nothing to wait for here."""
        if self._writers is None:
            yield
            return
        if not self.may_wait:
            if not self._writers.acquire(timeout=0):
                raise WriterBusy("another writer of this process holds the database")
        elif not self._writers.acquire(timeout=self._writer_wait):
            raise OperationalError("BEGIN IMMEDIATE", (), sqlite3.OperationalError(
                "database is locked (by another writer of this process)"))
        try:
            yield
        finally:
            self._writers.release()
            if self._checkpointer is not None:
                self._checkpointer.poke()  # the WAL grew: checkpoint soon, on its thread

    @contextmanager
    def no_wait(self) -> Iterator[None]:
        """SQLite: the first write transaction begun inside the block does not wait for the
        database. If another writer holds it (a thread of this process or another process),
        ``write()`` raises ``WriterBusy`` before anything is written; later writes in the
        block wait as usual. What a request handler runs on the event loop is wrapped in it
        (``AstroOpsHandler.call_write``), so the loop never sleeps on a lock."""
        token = _NO_WAIT.set(_NoWait())
        try:
            yield
        finally:
            _NO_WAIT.reset(token)

    @property
    def may_wait(self) -> bool:
        """False inside ``no_wait()`` until its first write has begun: a lock that write needs
        (a service's own, before the database's) is taken at once or ``WriterBusy`` raised."""
        no_wait = _NO_WAIT.get()
        return no_wait is None or not no_wait.first

    def on_session_event(self, name: str, fn: Callable[[Session], None]) -> None:
        """Call ``fn(session)`` on the session event ``name`` (``"after_commit"``, ...) of the
        sessions this database hands out, and of no other ``Database``'s."""
        for factory in (self._read, self._write):
            event.listen(factory, name, fn)

    def dispose(self) -> None:
        """Close every pooled connection (and stop the checkpoint thread until the next write)."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()


DB_URL_ENV = "ASTRO_OPS_DB_URL"


def default_db_url() -> str:
    """``$ASTRO_OPS_DB_URL`` when set (a deployment's secret, e.g. on Kubernetes), else the
    embedded default: a SQLite file in the Jupyter data directory.

    Shared by the server extension, the CLI and the dashboard process so all three open the
    same database when nothing is configured (``c.AstroOpsApp.db_url`` wins over both).
    """
    if os.environ.get(DB_URL_ENV):
        return os.environ[DB_URL_ENV]
    path = Path(jupyter_data_dir()) / "astro_ops" / "astro_ops.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def unpooled_engine(url: str) -> Engine:
    """An engine without a pool, for one-shot tools such as migrations."""
    return create_engine(url, poolclass=NullPool, future=True)
