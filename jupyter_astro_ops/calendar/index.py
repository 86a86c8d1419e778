"""An in-memory interval index of active reservations, answering window reads without SQL.

``GET calendar/reservations`` for a week is the calendar's hottest read, and most of its cost
was not the indexed SQL range scan but building ORM rows and wire models for every answer.
``ReservationIndex`` keeps, per site, the active reservations sorted by start (``array`` of
start and end instants in microseconds, and each reservation's wire JSON, encoded once) plus
the longest span it holds, so a window ``[s, e)`` is two bisections (from ``s - longest`` to
``e``) and a filter on the ends: the same half-open overlap rule as ``queries.overlapping``.

The database stays the source of truth; the index only answers reads and is kept current by:

* **a rebuild** from the database at start (in a thread; until it is ready, and whenever the
  live feed is not running, reads go to SQL exactly as before);
* **local writes**, applied at commit: ``ReservationWriter`` leaves the wire model of every row
  it wrote in the session (``TOUCHED``), and the index takes them in ``after_commit``, so a
  client reading after its own write sees it;
* **the change journal**, for writes by other processes: before answering, a read catches up
  to the live feed's cursor (``FeedHub.cursor``, gap-safe on PostgreSQL), reloading the
  reservations whose events changed since the index's own cursor. Another process's write is
  therefore seen as soon as the feed has seen it (``activity.remote`` wakes the feed at once).

Every entry carries its ``version``; an older state never replaces a newer one (a catch-up
that read a row just before a local commit cannot undo it), and cancelled rows leave a
tombstone with their version for the same reason.
"""

from __future__ import annotations

import asyncio
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import pydantic
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from traitlets import Bool, Int
from traitlets.config import LoggingConfigurable

from ..core.db import Database
from .models import Reservation, Site
from .schemas import ReservationOut
from .writes import OBJECT_TYPE, TOUCHED

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICRO = timedelta(microseconds=1)
_VALIDATE = ReservationOut.__pydantic_validator__.validate_python  # what to_out() runs
_VALIDATE_MANY = pydantic.TypeAdapter(list[ReservationOut]).validate_python
_ENCODE = ReservationOut.__pydantic_serializer__.to_json
_COLUMNS = tuple(Reservation.__table__.c)
_KEYS = tuple(c.key for c in _COLUMNS)
_INSTANTS = ("start", "end", "created", "modified", "cancelled_at")
BATCH = 5000


def micros(when: datetime) -> int:
    """Exact microseconds since the epoch of an aware datetime."""
    return (when - EPOCH) // MICRO


class ChangeJournal(Protocol):
    """What the index asks of the event log: which objects changed in a journal range."""

    def changed_objects(self, session: Session, object_type: str, after: int,
                        upto: int) -> set[str]: ...


class WindowIndex(Protocol):
    """What the calendar service reads through (``ReservationIndex``)."""

    def window(self, site: str | None, start: datetime, end: datetime, *,
               blocking: bool = ...) -> list[bytes] | None: ...


class JournalCursor(Protocol):
    """What the index needs from the live feed: how far this process has seen the journal."""

    cursor: int

    @property
    def running(self) -> bool: ...


@dataclass(frozen=True)
class Rendered:
    """A JSON body rendered once (``web.base.dump_json`` serves ``__json__`` as it is)."""

    body: bytes

    def __json__(self) -> bytes:
        return self.body


@dataclass
class _SiteEntries:
    """One site's active reservations, sorted by start."""

    starts: array[int] = field(default_factory=lambda: array("q"))
    ends: array[int] = field(default_factory=lambda: array("q"))
    ids: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    longest: int = 0  # microseconds; only grows (a wider scan is never wrong)

    def add(self, rid: str, start: int, end: int, body: bytes) -> None:
        i = bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)
        self.ids.insert(i, rid)
        self.bodies.insert(i, body)
        self.longest = max(self.longest, end - start)

    def remove(self, rid: str, start: int) -> None:
        i = bisect_left(self.starts, start)
        while i < len(self.ids) and self.starts[i] == start:
            if self.ids[i] == rid:
                del self.starts[i], self.ends[i], self.ids[i], self.bodies[i]
                return
            i += 1

    def window(self, start: int, end: int) -> list[int]:
        """Positions of the entries overlapping ``[start, end)``, by start."""
        lo = bisect_left(self.starts, start - self.longest)
        hi = bisect_left(self.starts, end, lo)
        ends = self.ends
        return [i for i in range(lo, hi) if ends[i] > start]


def encode(row: Any) -> tuple[str, str, int, int, int, bool, bytes]:
    """``(id, site, start, end, version, active, wire JSON)`` of a plain column row of the
    reservations table. The JSON is the one ``ReservationOut`` gives it."""
    return from_out(_VALIDATE(row._asdict()))


def _snapshot_sql(dialect: str) -> str:
    """The active rows as plain values, instants as ISO-8601 UTC text ending in ``Z``.

    The rebuild reads a million rows at start: without SQLAlchemy's per-value processing and
    with pydantic validating a whole batch in one call it is several times faster, and the
    JSON is still exactly ``ReservationOut``'s (pydantic parses the ``Z`` text to aware UTC,
    as ``UTCDateTime`` returns it)."""
    def col(key: str) -> str:
        name = f'"{key}"'
        if key not in _INSTANTS:
            return name
        if dialect == "postgresql":
            return f"""to_char({name} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
        return f"replace({name}, ' ', 'T') || 'Z'"  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff'

    return (f"SELECT {', '.join(col(k) for k in _KEYS)} FROM {Reservation.__tablename__} "
            "WHERE status = 'active' ORDER BY site, start")


def from_out(out: ReservationOut) -> tuple[str, str, int, int, int, bool, bytes]:
    return (out.id, out.site, micros(out.start), micros(out.end), out.version,
            out.status == "active", _ENCODE(out))


class ReservationIndex(LoggingConfigurable):
    """Per-site interval index of active reservations (``c.ReservationIndex.*``)."""

    enabled = Bool(True, config=True, help=(
        "Answer reservation window reads from memory (kept current from the change journal); "
        "off: every read is a SQL query."))
    max_rows = Int(3_000_000, config=True, help=(
        "Largest number of active reservations the index holds (about 700 bytes each, wire "
        "JSON included); with more, reads stay in SQL."))

    def __init__(self, db: Database, journal: ChangeJournal, feed: JournalCursor,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db = db
        self.journal = journal
        self.feed = feed
        self.cursor = 0
        self.ready = False
        self.rebuilds = 0
        self._sites: dict[str, _SiteEntries] = {}
        self._where: dict[str, tuple[str | None, int, int]] = {}  # id -> (site, start, version)
        self._lock = threading.RLock()
        self._building: asyncio.Future[bool] | None = None
        db.on_session_event("after_commit", self._after_commit)
        db.on_session_event("after_rollback", self._after_rollback)

    # -- building ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Rebuild in a thread, without waiting (reads use SQL until it is ready). Call after
        the live feed has started."""
        if self._building is None or self._building.done():
            self._building = asyncio.get_running_loop().run_in_executor(None, self._rebuild)

    async def stop(self) -> None:
        """Wait for a rebuild in progress; reads go to SQL until the next ``start``."""
        if self._building is not None:
            await asyncio.wait([self._building])
        self.ready = False

    def _rebuild(self) -> bool:
        try:
            return self.rebuild()
        except Exception:
            self.log.exception("calendar: the reservation index could not be built; "
                               "window reads stay in SQL")
            return False

    def rebuild(self) -> bool:
        """Blocking: load every active reservation (needs the running feed, whose cursor keeps
        the index current afterwards). False when disabled, without a feed, or too large."""
        if not self.enabled or not self.feed.running:
            return False
        cursor = self.feed.cursor  # read first: the snapshot holds at least this much
        sites: dict[str, _SiteEntries] = {}
        where: dict[str, tuple[str | None, int, int]] = {}
        with self.db.read() as session:
            active = Reservation.status == "active"
            count = session.scalar(select(func.count()).select_from(Reservation).where(active))
            if (count or 0) > self.max_rows:
                self.log.warning("calendar: %d active reservations > ReservationIndex.max_rows;"
                                 " window reads stay in SQL", count)
                return False
            for code in session.scalars(select(Site.code)):
                sites[code] = _SiteEntries()
            result = session.connection().exec_driver_sql(_snapshot_sql(self.db.dialect))
            while batch := result.fetchmany(BATCH):
                for out in _VALIDATE_MANY([dict(zip(_KEYS, row, strict=True)) for row in batch]):
                    rid, site, start, end, version, _, body = from_out(out)
                    entries = sites.get(site) or sites.setdefault(site, _SiteEntries())
                    entries.starts.append(start)
                    entries.ends.append(end)
                    entries.ids.append(rid)
                    entries.bodies.append(body)
                    entries.longest = max(entries.longest, end - start)
                    where[rid] = (site, start, version)
        with self._lock:
            self._sites, self._where, self.cursor = sites, where, cursor
            self.ready = True
            self.rebuilds += 1
        return True

    @property
    def size(self) -> int:
        """Active reservations held."""
        return sum(len(s.ids) for s in self._sites.values())

    # -- reading -------------------------------------------------------------------------------
    def window(self, site: str | None, start: datetime, end: datetime, *,
               blocking: bool = True) -> list[bytes] | None:
        """Wire JSON of the active reservations overlapping ``[start, end)`` at ``site`` (all
        sites when ``None``), by start; ``None`` when SQL must answer (not ready, no feed, or
        a site the index does not know).

        ``blocking=False`` (safe on an event loop): answer only from memory as it stands;
        ``None`` if that would need the database (a catch-up) or wait for the lock.
        """
        if not self.ready or not self.feed.running:
            return None
        if blocking:
            self._catch_up()
        elif self.feed.cursor > self.cursor:
            return None
        if not self._lock.acquire(blocking=blocking):
            return None
        try:
            return self._window(site, micros(start), micros(end))
        finally:
            self._lock.release()

    def _window(self, site: str | None, s: int, e: int) -> list[bytes] | None:
        if site is not None:
            entries = self._sites.get(site)
            return None if entries is None else [entries.bodies[i] for i in entries.window(s, e)]
        found = [(entries.starts[i], code, entries.bodies[i])
                 for code, entries in self._sites.items() for i in entries.window(s, e)]
        found.sort(key=lambda item: (item[0], item[1]))
        return [body for _, _, body in found]

    # -- keeping current -----------------------------------------------------------------------
    def _catch_up(self) -> None:
        """Reload what other processes changed up to the feed's cursor."""
        upto = self.feed.cursor
        if upto <= self.cursor:
            return
        with self._lock:
            if upto <= self.cursor:
                return
            with self.db.read() as session:
                ids = sorted(self.journal.changed_objects(session, OBJECT_TYPE, self.cursor,
                                                          upto))
                rows: list[Any] = []
                for first in range(0, len(ids), 500):
                    rows.extend(session.execute(select(*_COLUMNS).where(
                        Reservation.id.in_(ids[first:first + 500]))))
            found = {row.id for row in rows}
            for row in rows:
                self._apply(encode(row))
            for rid in ids:
                if rid not in found:  # the row is gone
                    self._drop(rid)
            self.cursor = upto

    def apply(self, outs: Iterable[ReservationOut]) -> None:
        """Take the committed state of rows written in this process."""
        if not self.ready:
            return  # the rebuild's snapshot or the journal will bring them
        with self._lock:
            for out in outs:
                self._apply(from_out(out))

    def _apply(self, item: tuple[str, str, int, int, int, bool, bytes]) -> None:
        rid, site, start, end, version, active, body = item
        prev = self._where.get(rid)
        if prev is not None:
            if prev[2] > version:
                return  # an older state than the one held
            if prev[0] is not None:
                self._sites[prev[0]].remove(rid, prev[1])
        if active:
            self._sites.setdefault(site, _SiteEntries()).add(rid, start, end, body)
            self._where[rid] = (site, start, version)
        else:
            self._where[rid] = (None, 0, version)  # tombstone: not active at this version

    def _drop(self, rid: str) -> None:
        prev = self._where.pop(rid, None)
        if prev is not None and prev[0] is not None:
            self._sites[prev[0]].remove(rid, prev[1])

    def _after_commit(self, session: Session) -> None:
        touched = session.info.get(TOUCHED)  # not popped: every index on this db takes them
        if touched:
            self.apply(list(touched.values()))

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(TOUCHED, None)


__all__ = ["ChangeJournal", "JournalCursor", "Rendered", "ReservationIndex", "WindowIndex",
           "encode", "micros"]
