"""The journal's statements on the driver: events written with their journal row in as few
statements as the dialect allows, each compiled once (``core.db.DriverStatement``).

``EventLog.append`` (a booking's event) and ``EventLog._bump`` (the journal row of every other
write) use them. SQLite serializes writers (``BEGIN IMMEDIATE``), so the next journal number
is known inside the statement that takes it; on PostgreSQL the event is written first, so that
its transaction has an id before the number is drawn (``gaps.py`` relies on it).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Table, bindparam, func, insert, select, update

from ..core.driver import DriverStatement
from .models import ActivityChange, ActivityEvent

_EVENTS: Table = ActivityEvent.__table__  # type: ignore[assignment]
_CHANGES: Table = ActivityChange.__table__  # type: ignore[assignment]
_NEXT_SEQ = select(func.coalesce(func.max(_CHANGES.c.seq), 0) + 1).scalar_subquery()
APPEND_NUMBERED = DriverStatement(  # SQLite: the event with its journal number already taken
    insert(_EVENTS).values(seq=_NEXT_SEQ), keys=[c.key for c in _EVENTS.c if c.key != "seq"])
JOURNAL_COPY = DriverStatement(insert(_CHANGES).from_select(  # ... its journal row, copied
    ["seq", "event_id", "status", "at"],
    select(_EVENTS.c.seq, _EVENTS.c.id, _EVENTS.c.status, _EVENTS.c.updated)
    .where(_EVENTS.c.id == bindparam("b_id"))))
APPEND_EVENT = DriverStatement(insert(_EVENTS), keys=[c.key for c in _EVENTS.c])
_JOURNAL = (insert(_CHANGES)  # PostgreSQL: the journal row, then its seq onto the event
            .values(event_id=bindparam("b_id"), status=bindparam("b_status"),
                    at=bindparam("b_at")).returning(_CHANGES.c.seq).cte("journal"))
JOURNAL_AND_SEQ = DriverStatement(  # as record()'s second flush: the version moves on (1 -> 2)
    update(_EVENTS).where(_EVENTS.c.id == bindparam("b_id"))
    .values(seq=select(_JOURNAL.c.seq).scalar_subquery(), version=_EVENTS.c.version + 1)
    .returning(_EVENTS.c.seq))
JOURNAL_NEXT = DriverStatement(  # SQLite: an existing event's journal row, next number
    insert(_CHANGES).values(seq=_NEXT_SEQ, event_id=bindparam("b_id"),
                            status=bindparam("b_status"), at=bindparam("b_at")))


def placeholder_seq(event_id: str) -> int:
    """A distinct negative ``seq`` until ``_bump`` sets the real one in the same transaction.

    A shared placeholder (0) would make every concurrent ``record`` on PostgreSQL wait on the
    unique index for the first writer's commit (the superseded row version still holds 0).
    """
    return -1 - (uuid.uuid5(uuid.NAMESPACE_OID, event_id).int >> 66)


__all__ = ["APPEND_EVENT", "APPEND_NUMBERED", "JOURNAL_AND_SEQ", "JOURNAL_COPY", "JOURNAL_NEXT",
           "placeholder_seq"]
