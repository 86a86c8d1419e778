"""The one write path of planner entries, used inside a caller's write transaction.

``PlannerService`` (people), ``PlannerImporter`` (night table, leave) and ``PlannerSwaps``
(both rows of a swap) write entries only through ``EntryWriter``: ``insert``, ``change`` and
``delete`` (soft). Each records one ``PLANNER_ENTRY`` activity event in the same transaction,
with the entry as it was (``old``) and as it is (``new``): the audit trail P-Squared's history
table tried to be. Rules (counts, overlaps, permissions) are checked by the callers before.

``transaction(db)`` turns a lost compare-and-set (``StaleDataError``) or a unique-key race
(``IntegrityError``) into ``Conflict``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..activity.protocols import EventRecorder
from ..core.db import Database
from ..core.errors import Conflict
from ..core.identity import User
from ..core.timeutil import isoformat, utcnow
from . import timing
from .models import Block, Entry
from .rules import Span

OBJECT_TYPE = "PLANNER_ENTRY"
HAND = "hand"
TRANSPORT = ("seats", "alternate_pickup", "summit_lead", "support_lead", "crew_lead")


@dataclass(frozen=True)
class NewEntry:
    """The fields of a new entry."""

    username: str
    day: date
    timezone: str
    spans: Sequence[Span]
    entered_by: str
    note: str = ""
    transport: dict[str, Any] = field(default_factory=dict)
    origin: str = HAND
    source: str | None = None
    import_key: str | None = None
    import_digest: str | None = None


@contextmanager
def transaction(db: Database) -> Iterator[Session]:
    """A write transaction whose lost races become ``Conflict`` (409)."""
    try:
        with db.write() as session:
            yield session
    except StaleDataError as exc:
        raise Conflict("the entry was changed by someone else meanwhile; reload and "
                       "retry") from exc
    except IntegrityError as exc:
        raise Conflict(f"the change clashes with one made at the same moment: {exc.orig}"
                       ) from exc


def blocks_of(session: Session, entry_id: str) -> list[Block]:
    """The blocks of one entry, in order."""
    return list(session.scalars(
        select(Block).where(Block.entry_id == entry_id).order_by(Block.position)))


class EntryWriter:
    """Inserts, changes and soft-deletes entries, each with its activity event."""

    def __init__(self, events: EventRecorder) -> None:
        self.events = events
        events.register_object_type(OBJECT_TYPE)

    def insert(self, session: Session, user: User, new: NewEntry,
               when: datetime | None = None) -> Entry:
        """Add an entry with its blocks."""
        now = when or utcnow()
        row = Entry(id=uuid.uuid4().hex, username=new.username, day=new.day,
                    timezone=new.timezone, note=new.note, origin=new.origin, source=new.source,
                    import_key=new.import_key, import_digest=new.import_digest,
                    entered_by=new.entered_by, deleted=False, created=now, modified=now,
                    **{k: new.transport.get(k, 0 if k == "seats" else "") for k in TRANSPORT})
        session.add(row)
        session.flush()
        self._put_blocks(session, row, new.spans)
        self.record(session, user, "ADD", row, None, snapshot(row, new.spans))
        return row

    def change(self, session: Session, user: User, row: Entry, values: dict[str, Any],
               spans: Sequence[Span] | None = None, when: datetime | None = None,
               why: str | None = None) -> Entry:
        """Apply column ``values`` and, if given, replace the blocks with ``spans``."""
        old_spans = spans_of_rows(row, blocks_of(session, row.id))
        old = snapshot(row, old_spans)
        for name, value in values.items():
            setattr(row, name, value)
        row.modified = when or utcnow()
        session.flush()  # one UPDATE ... WHERE version = :expected (compare-and-set)
        if spans is not None:
            session.execute(delete(Block).where(Block.entry_id == row.id))
            self._put_blocks(session, row, spans)
        self.record(session, user, "MOD", row, old,
                    snapshot(row, old_spans if spans is None else spans), why=why)
        return row

    def delete(self, session: Session, user: User, row: Entry, when: datetime | None = None,
               values: dict[str, Any] | None = None, why: str | None = None) -> Entry:
        """Soft-delete (the row and its blocks stay, for history and iCal cancellations)."""
        now = when or utcnow()
        spans = spans_of_rows(row, blocks_of(session, row.id))
        old = snapshot(row, spans)
        for name, value in (values or {}).items():
            setattr(row, name, value)
        row.deleted, row.deleted_at, row.modified = True, now, now
        session.flush()
        self.record(session, user, "DEL", row, old, None, why=why)
        return row

    def undelete(self, session: Session, user: User, row: Entry, values: dict[str, Any],
                 spans: Sequence[Span], when: datetime | None = None) -> Entry:
        """Bring a soft-deleted entry back with new values (an import re-adding its key)."""
        now = when or utcnow()
        for name, value in values.items():
            setattr(row, name, value)
        row.deleted, row.deleted_at, row.modified = False, None, now
        session.flush()
        session.execute(delete(Block).where(Block.entry_id == row.id))
        self._put_blocks(session, row, spans)
        self.record(session, user, "ADD", row, None, snapshot(row, spans))
        return row

    def _put_blocks(self, session: Session, row: Entry, spans: Sequence[Span]) -> None:
        tz = timing.zone(row.timezone)
        ordered = sorted(spans, key=lambda s: s.start)
        session.add_all(Block(entry_id=row.id, position=i, location=s.location,
                              start=s.start, end=s.end,
                              local_start=timing.local_minutes(row.day, s.start, tz),
                              local_end=timing.local_minutes(row.day, s.end, tz))
                        for i, s in enumerate(ordered))
        session.flush()

    def record(self, session: Session, user: User, action: str, row: Entry,
               old: dict[str, Any] | None, new: dict[str, Any] | None,
               why: str | None = None) -> None:
        """The activity event of one change: ``old`` and ``new`` value of the entry."""
        what = "entry" if row.origin == HAND else f"{row.origin} import entry"
        shown = new or old or {}
        blocks = ", ".join(b["location"] for b in shown.get("blocks", [])) or "no blocks"
        message = f"{action} {what} of {row.username} on {row.day.isoformat()}: {blocks}"
        if why:
            message += f" ({why})"
        self.events.record(
            session, user, action=action, object_type=OBJECT_TYPE, object_id=row.id,
            status="SUCCESS", message=message,
            data={"username": row.username, "day": row.day.isoformat(),
                  "origin": row.origin, "old": old, "new": new},
        )


def spans_of_rows(row: Entry, blocks: Sequence[Block]) -> list[Span]:
    """The stored blocks of ``row`` as rule spans."""
    return [Span(b.location, b.start, b.end, entry_id=row.id, origin=row.origin, day=row.day,
                 zone=row.timezone) for b in blocks]


def snapshot(row: Entry, spans: Sequence[Span]) -> dict[str, Any]:
    """The JSON value of an entry in an activity event."""
    return {
        "day": row.day.isoformat(), "username": row.username, "timezone": row.timezone,
        "blocks": [{"location": s.location, "start": isoformat(s.start),
                    "end": isoformat(s.end)} for s in sorted(spans, key=lambda s: s.start)],
        "note": row.note, "origin": row.origin, "source": row.source,
        **{k: getattr(row, k) for k in TRANSPORT},
    }


__all__ = ["HAND", "OBJECT_TYPE", "TRANSPORT", "EntryWriter", "NewEntry", "blocks_of",
           "snapshot", "spans_of_rows", "transaction"]
