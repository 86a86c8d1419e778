"""SQLite WAL checkpoints on a thread of their own, not inside somebody's commit.

By default SQLite checkpoints in the commit that brings the WAL past 1,000 pages: that writer
copies the pages into the database file and syncs it, and about one booking in a hundred took
20-25 ms instead of 3 (``bench_calendar.py``, one client, 1M reservations). ``Database`` turns
that off on its connections (``PRAGMA wal_autocheckpoint=0``) and pokes a ``WalCheckpointer``
after each write instead: its thread runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own
connection, at most once per ``interval``. A passive checkpoint waits for nobody; readers and
writers go on beside it (the driver releases the GIL while SQLite works). If the process ends
first, SQLite checkpoints when its last connection closes, or replays the WAL at the next open
after a crash: nothing is lost either way.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class WalCheckpointer:
    """One daemon thread per SQLite database file of this process, started at the first poke."""

    def __init__(self, locate: Callable[[], str], interval: float = 0.25,
                 busy_timeout: float = 5.0) -> None:
        self.locate = locate  # the database file's path, as SQLite opened it
        self.path = ""
        self.interval = interval
        self.busy_timeout = busy_timeout
        self.checkpoints = 0
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: tuple[threading.Thread, threading.Event] | None = None

    def poke(self) -> None:
        """A write committed: checkpoint soon (thread-safe, cheap)."""
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    if not self.path:
                        try:
                            self.path = self.locate()
                        except Exception:  # the write itself committed; say so and go on
                            log.warning("WAL checkpoints: cannot locate the database file",
                                        exc_info=True)
                            return
                    stop = threading.Event()
                    thread = threading.Thread(target=self._run, args=(stop,), daemon=True,
                                              name="astro-ops-wal-checkpoint")
                    self._thread = (thread, stop)
                    thread.start()
        self._wake.set()

    def stop(self) -> None:
        """End the thread after the checkpoint it may be running; a later poke starts a new
        one (``Database.dispose``, then use again)."""
        with self._lock:
            running, self._thread = self._thread, None
        if running is not None:
            thread, stop = running
            stop.set()
            self._wake.set()
            if thread is not threading.current_thread():
                thread.join(self.busy_timeout + 1)

    def _run(self, stop: threading.Event) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error:
            log.warning("no WAL checkpoints for this process: cannot open the database",
                        exc_info=True)
            return
        try:
            while True:
                self._wake.wait()
                if stop.is_set():
                    return
                self._wake.clear()
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error:  # the next poke tries again
                    log.warning("WAL checkpoint of %s failed", self.path, exc_info=True)
                if stop.wait(self.interval):
                    return
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()


__all__ = ["WalCheckpointer"]
