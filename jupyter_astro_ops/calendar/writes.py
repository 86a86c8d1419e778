"""The one write path of reservation rows, used inside a caller's write transaction.

``CalendarService`` (bookings by people) and the LCO importer (bookings by a schedule) both
write reservations only through ``ReservationWriter``: ``insert`` (overlap check, row, span,
event), ``change`` and ``cancel`` (one conditional UPDATE each, then the event) and ``hold``
(the importer parks a booking that moves, so imported bookings can trade slots). Every change
records one ``RESERVATION`` activity event in the same transaction, and leaves the row's wire
model in ``session.info[TOUCHED]`` for the in-memory index to take at commit (``index.py``).

``transaction(db)`` opens the write transaction as a ``Tx``: the session plus the last overlap
window checked in it, so that a booking that raced past the check on PostgreSQL (the exclusion
constraint fires at flush or commit) is answered with the reservations in the way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..activity.protocols import EventRecorder
from ..core.db import Database
from ..core.errors import Conflict, NotFound, ValidationError
from ..core.identity import User
from ..core.timeutil import isoformat, utcnow
from . import queries as q
from .models import Reservation
from .rules import overlap_conflict, update_row
from .schemas import ReservationOut

OBJECT_TYPE = "RESERVATION"
TOUCHED = "astro_calendar_touched"  # session.info: {id: ReservationOut} written in this tx
LOCAL_ORIGIN = "ptr"  # booked here (Photon Ranch's name for its own bookings)
LCO_ORIGIN = "lco"  # imported from the LCO observation portal (``calendar.lco``)
EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"


@dataclass(frozen=True)
class Window:
    """An overlap check: ``[start, end)`` at ``site``, ignoring reservation ``exclude``."""

    site: str
    start: datetime
    end: datetime
    exclude: str | None = None


@dataclass
class Tx:
    """A calendar write transaction."""

    session: Session
    window: Window | None = None  # the last overlap window checked


@dataclass(frozen=True)
class Booking:
    """The fields of a new reservation."""

    site: str
    start: datetime
    end: datetime
    title: str
    type: str
    note: str
    project_id: int | None
    creator_id: str
    creator_name: str
    origin: str = LOCAL_ORIGIN
    external_id: str | None = None


@dataclass(frozen=True)
class Probe:
    """What a booking's one check statement found: the site's longest span so far and the
    active reservations in the way of ``window``."""

    window: Window
    span: int
    conflicts: list[ReservationOut]


@contextmanager
def transaction(db: Database) -> Iterator[Tx]:
    """A write transaction whose database-level conflicts become ``Conflict``."""
    tx: Tx | None = None
    try:
        with db.write() as session:
            tx = Tx(session)
            yield tx
    except IntegrityError as exc:
        raise _integrity_conflict(db, exc, tx.window if tx else None) from exc


def _integrity_conflict(db: Database, exc: IntegrityError, window: Window | None) -> Exception:
    code = getattr(exc.orig, "sqlstate", None)
    if code == EXCLUSION_VIOLATION:
        conflicts = []
        if window is not None:
            with db.read() as session:
                rows = q.overlapping(session, [window.site], window.start, window.end,
                                     exclude_id=window.exclude)
                conflicts = [q.to_out(r) for r in rows]
        return overlap_conflict(conflicts)
    if code == UNIQUE_VIOLATION or "UNIQUE" in str(exc.orig):
        return Conflict("a reservation with this id already exists")
    return ValidationError(f"rejected by the database: {exc.orig}")


class ReservationWriter:
    """Inserts, changes and cancels reservation rows, each with its activity event."""

    def __init__(self, events: EventRecorder) -> None:
        self.events = events
        events.register_object_type(OBJECT_TYPE)

    def refuse_overlap(self, tx: Tx, window: Window, spans: dict[str, int] | None = None
                       ) -> None:
        """409 with the active reservations in the way of ``window``."""
        tx.window = window
        known = spans if spans is not None else [window.site]
        rows = q.overlapping(tx.session, known, window.start, window.end,
                             exclude_id=window.exclude)
        if rows:
            raise overlap_conflict([q.to_out(r) for r in rows])

    def probe(self, tx: Tx, window: Window) -> Probe:
        """A booking's check in one statement: 404 for an unknown site, else the site's span
        and the active reservations in the way (``insert`` refuses them with a 409).

        Run on the driver; only when something is in the way is it read again through
        SQLAlchemy (same transaction, same answer) to build the conflicts' wire models."""
        tx.window = window
        dialect = tx.session.get_bind().dialect.name
        params = {"site": window.site, "start": window.start, "end": window.end}
        rows = q.driver_probe(dialect).rows(tx.session, params)
        if not rows:
            raise NotFound(f"no site {window.site!r}")
        conflicts: list[ReservationOut] = []
        if rows[0][1] is not None:  # the join found a reservation in the way
            found = tx.session.execute(q.probe_stmt(dialect), params).mappings().all()
            conflicts = [q.row_out({k: v for k, v in r.items() if k != "span"}) for r in found]
        return Probe(window, int(rows[0][0] or 0), conflicts)

    def insert(self, tx: Tx, user: User, booking: Booking, *, reservation_id: str,
               probe: Probe | None = None, when: datetime | None = None) -> ReservationOut:
        """Add ``booking`` if nothing active overlaps it (``probe``: its check, made in ``tx``;
        made here when not given). The row and its event are written with statements compiled
        once and run on the driver: the probe, the row, the event (span widening only when it
        grows)."""
        found = probe or self.probe(tx, Window(booking.site, booking.start, booking.end))
        if found.conflicts:
            raise overlap_conflict(found.conflicts)
        now = when or utcnow()
        values = {
            "id": reservation_id, "site": booking.site, "start": booking.start,
            "end": booking.end, "title": booking.title, "type": booking.type,
            "origin": booking.origin, "external_id": booking.external_id,
            "creator_id": booking.creator_id, "creator_name": booking.creator_name,
            "project_id": booking.project_id, "note": booking.note, "status": "active",
            "sequence": 0, "version": 1, "created": now, "modified": now, "cancelled_at": None,
        }
        tx.session.flush()  # anything the ORM holds goes first, as a flush would order it
        q.INSERT_RESERVATION.execute(tx.session, values)
        q.widen_span(tx.session, booking.site, booking.start, booking.end, known=found.span)
        out = q.row_out(values)
        self.record(tx.session, user, "ADD", out)
        return out

    def change(self, tx: Tx, user: User, row: Reservation, values: dict[str, Any], *,
               changed: list[str], current_status: str = "active",
               when: datetime | None = None) -> None:
        """Apply ``values`` (after an overlap check when the row is or becomes active)."""
        start, end = values.get("start", row.start), values.get("end", row.end)
        status = values.get("status", row.status)
        moves = "start" in values or "end" in values or status != row.status
        if moves and status == "active":
            spans = q.max_spans(tx.session, [row.site])
            self.refuse_overlap(tx, Window(row.site, start, end, row.id), spans)
            q.widen_span(tx.session, row.site, start, end, known=spans.get(row.site, 0))
        update_row(tx.session, row, values, current_status=current_status, when=when)
        self.record(tx.session, user, "MOD", row, changed=changed)

    def cancel(self, tx: Tx, user: User, row: Reservation, *, current_status: str = "active",
               when: datetime | None = None) -> None:
        """Cancel: the row stays (``status = cancelled``) for calendar feeds."""
        at = when or utcnow()
        update_row(tx.session, row, {"status": "cancelled", "cancelled_at": at},
                   current_status=current_status, when=at)
        self.record(tx.session, user, "DEL", row)

    def hold(self, tx: Tx, rows: list[Reservation]) -> None:
        """Park active rows inside ``tx`` (no event, no new SEQUENCE): each must then be
        ``change``-d back to active or ``cancel``-led with ``current_status="held"``."""
        for row in rows:
            row.status = "held"
        tx.session.flush()

    def record(self, session: Session, user: User, action: str,
               row: Reservation | ReservationOut, **extra: Any) -> None:
        """The activity event of one change to ``row`` (and its wire model for the index)."""
        data = {"site": row.site, "start": isoformat(row.start), "end": isoformat(row.end),
                "title": row.title, "status": row.status, "sequence": row.sequence, **extra}
        what = "reservation"
        if row.origin != LOCAL_ORIGIN:
            data.update(origin=row.origin, external_id=row.external_id)
            what = "imported reservation"
        self.events.append(
            session, user, action=action, object_type=OBJECT_TYPE, object_id=row.id,
            data=data, status="SUCCESS", project_id=row.project_id,
            message=f"{action} {what} {row.site} {data['start']}..{data['end']}",
        )
        out = row if isinstance(row, ReservationOut) else q.to_out(row)  # flushed: versioned
        session.info.setdefault(TOUCHED, {})[row.id] = out


__all__ = ["LCO_ORIGIN", "LOCAL_ORIGIN", "OBJECT_TYPE", "TOUCHED", "Booking", "Probe",
           "ReservationWriter", "Tx", "Window", "transaction"]
