"""Cross-process wake-ups: commits made by other processes wake this process's listeners.

The event log calls its listeners (live feed, request worker, staging runner, calendar index)
after a commit *in this process*. Another process sharing the database (the dashboard
process, the CLI, a JupyterHub worker service, a second server on PostgreSQL) used to be seen
only at the listeners' next poll: a staging job queued from the Staging dashboard waited up to
the runner's poll interval (2 s) before it started. ``RemoteChanges`` closes that gap by
watching the database and calling ``EventLog.notify(types)`` for commits it did not make:

* **PostgreSQL**: every write transaction that recorded events sends ``NOTIFY astro_ops_changes``
  with its object types (``EventLog``, just before commit; PostgreSQL delivers it at commit and
  drops it on rollback). One dedicated connection ``LISTEN``\\ s in a thread.
* **SQLite**: no notifications exist, so a thread asks ``PRAGMA data_version`` every
  ``sqlite_interval`` seconds (it changes when another connection committed; the read costs a
  few microseconds and touches only the shared-memory WAL index), and only after a change reads
  the object types of the journal's new rows, leaving out the ones this process committed
  (``EventLog.take_local``: their listeners woke at commit).

The thread only ever calls ``notify`` (thread-safe, listeners just wake their loops), so the
listeners' own locks, leases and compare-and-set writes are untouched: a wake-up only means
"look now" instead of "look at your next poll". Polls stay as the fallback.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session
from traitlets import Float
from traitlets.config import LoggingConfigurable

from ..core.db import Database

CHANNEL = "astro_ops_changes"
_TYPES_SINCE = text(
    "SELECT c.seq, e.object_type FROM activity_changes c JOIN activity_events e "
    "ON e.id = c.event_id WHERE c.seq > :seq ORDER BY c.seq")
_LATEST = text("SELECT COALESCE(MAX(seq), 0) FROM activity_changes")


class Notifier(Protocol):
    """What the watcher wakes: the event log's in-process listeners."""

    db: Database
    tracking: bool

    def notify(self, written: frozenset[str], *, remote: bool = False) -> None: ...
    def take_local(self, seqs: Iterable[int]) -> set[int]: ...


def notify_payload(origin: str, written: set[str]) -> str:
    """``origin|TYPE,TYPE``: who committed and the object types it wrote."""
    return origin + "|" + ",".join(sorted(written))


def send_notify(session: Session, origin: str, written: set[str]) -> None:
    """Queue the PostgreSQL notification of this transaction (delivered at commit)."""
    session.execute(text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": notify_payload(origin, written)})


class RemoteChanges(LoggingConfigurable):
    """Wakes the event log's listeners after other processes' commits (``c.RemoteChanges.*``)."""

    sqlite_interval = Float(0.01, config=True, help=(
        "SQLite only: seconds between two looks at PRAGMA data_version (a few microseconds "
        "each), i.e. the longest a commit by another process waits to wake this process's "
        "staging runner, live feed and calendar index. 0 turns the watcher off (listeners "
        "then see other processes only at their own polls)."))
    retry_interval = Float(2.0, config=True, help=(
        "Seconds before the watcher reconnects after losing its database connection."))

    def __init__(self, events: Notifier, origin: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.events = events
        self.origin = origin  # this process's notifications carry it; we skip our own
        self.wakeups = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the watcher thread (idempotent)."""
        if self.running:
            return
        dialect = self.events.db.dialect
        if dialect == "sqlite" and self.sqlite_interval <= 0:
            return
        target: Callable[[], None] = (self._listen_postgres if dialect == "postgresql"
                                      else self._poll_sqlite)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(target,), daemon=True,
                                        name="astro-ops-remote-changes")
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (it ends within one ``sqlite_interval`` or listen timeout)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def _run(self, target: Callable[[], None]) -> None:
        while not self._stop.is_set():
            try:
                target()
            except Exception:
                self.log.warning("astro-ops remote change watcher lost its connection; "
                                 "retrying in %.0f s", self.retry_interval, exc_info=True)
                self._stop.wait(self.retry_interval)

    def _wake(self, written: frozenset[str]) -> None:
        if written:
            self.wakeups += 1
            self.events.notify(written, remote=True)

    # -- PostgreSQL: LISTEN ------------------------------------------------------------------
    def _listen_postgres(self) -> None:
        import psycopg

        url = self.events.db.engine.url.set(drivername="postgresql")
        with psycopg.connect(url.render_as_string(hide_password=False),
                             autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            while not self._stop.is_set():
                for note in conn.notifies(timeout=0.5):
                    origin, _, types = note.payload.partition("|")
                    if origin != self.origin:
                        self._wake(frozenset(t for t in types.split(",") if t))

    # -- SQLite: PRAGMA data_version -----------------------------------------------------------
    def _poll_sqlite(self) -> None:
        path = self.events.db.engine.url.database
        assert path, "file-backed SQLite only"
        conn = sqlite3.connect(path, timeout=5.0, isolation_level=None,
                               check_same_thread=False)
        self.events.tracking = True  # so that our own commits can be told apart
        try:
            seq = int(conn.execute(_LATEST.text).fetchone()[0])
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            while not self._stop.wait(self.sqlite_interval):
                now = conn.execute("PRAGMA data_version").fetchone()[0]
                if now == version:
                    continue
                version = now
                rows = conn.execute(_TYPES_SINCE.text.replace(":seq", "?"), (seq,)).fetchall()
                if rows:
                    seq = int(rows[-1][0])
                    mine = self.events.take_local(int(s) for s, _ in rows)
                    self._wake(frozenset(str(t) for s, t in rows if int(s) not in mine))
        finally:
            self.events.tracking = False
            with contextlib.suppress(sqlite3.Error):
                conn.close()


def new_origin() -> str:
    """A token naming this process in its notifications."""
    return uuid.uuid4().hex[:12]


__all__ = ["CHANNEL", "Notifier", "RemoteChanges", "new_origin", "notify_payload",
           "send_notify"]
