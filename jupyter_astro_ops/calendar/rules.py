"""Rule checks and write primitives of the calendar service (framework-free).

Kept apart from ``service.py`` so the service reads as the list of operations: the checks of a
reservation's times and state, the conditional UPDATE that every change goes through, the
write transaction that turns database-level conflicts (PostgreSQL's exclusion constraint, a
duplicate id) into ``Conflict``, and the project lookups of the compat API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..activity.models import Project
from ..core.db import Database
from ..core.errors import Conflict, ValidationError
from ..core.timeutil import as_utc, isoformat, utcnow
from . import queries as q
from .models import Reservation
from .schemas import ReservationOut

EXCLUSION_VIOLATION = "23P01"
UNIQUE_VIOLATION = "23505"
WINDOW_KEY = "calendar_window"


def check_timezone(name: str) -> str:
    """Return ``name`` if it is an IANA time zone, else raise ``ValidationError``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown time zone {name!r}") from exc
    return name


def check_times(start: datetime, end: datetime, min_minutes: float,
                max_hours: float) -> tuple[datetime, datetime]:
    """``(start, end)`` in UTC if ``start < end`` and the length is within the limits."""
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        raise ValidationError("a reservation must end after it starts",
                              details={"start": isoformat(start), "end": isoformat(end)})
    length = end - start
    if length < timedelta(minutes=min_minutes):
        raise ValidationError(f"a reservation lasts at least {min_minutes:g} min")
    if length > timedelta(hours=max_hours):
        raise ValidationError(f"a reservation lasts at most {max_hours:g} h")
    return start, end


def require_current(row: Reservation, expected: int | None) -> None:
    """409 if ``row`` is cancelled or not at the ``expected`` version."""
    if row.status != "active":
        raise Conflict(f"reservation {row.id} is cancelled", details={"current": q.to_out(row)})
    if expected is not None and expected != row.version:
        raise Conflict(f"reservation {row.id} is at version {row.version}, not {expected}; "
                       "reload and retry", details={"current": q.to_out(row)})


def overlap_conflict(conflicts: list[ReservationOut]) -> Conflict:
    return Conflict(f"overlaps {len(conflicts)} reservation(s) at the site",
                    details={"conflicts": conflicts})


def refuse_overlap(session: Session, spans: dict[str, int], site: str, start: datetime,
                   end: datetime, exclude: str | None) -> None:
    """409 with the active reservations in the way; remembers the window for ``write``."""
    session.info.get(WINDOW_KEY, {}).update(site=site, start=start, end=end, exclude=exclude)
    rows = q.overlapping(session, spans, start, end, exclude_id=exclude)
    if rows:
        raise overlap_conflict([q.to_out(r) for r in rows])


def update_row(session: Session, row: Reservation, values: dict[str, Any]) -> None:
    """One conditional UPDATE: applies only if nobody changed the row since it was read."""
    table: Table = Reservation.__table__  # type: ignore[assignment]
    result = session.execute(
        update(table)
        .where(table.c.id == row.id, table.c.version == row.version, table.c.status == "active")
        .values(**values, version=table.c.version + 1, sequence=table.c.sequence + 1,
                modified=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"reservation {row.id} was changed by someone else; reload and retry")
    session.refresh(row)


@contextmanager
def write(db: Database) -> Iterator[Session]:
    """A write transaction whose database-level conflicts become ``Conflict``.

    On PostgreSQL a booking that raced past the in-transaction check hits the exclusion
    constraint at flush or commit; the window last checked tells what is in the way.
    """
    window: dict[str, Any] = {}
    try:
        with db.write() as session:
            session.info[WINDOW_KEY] = window
            yield session
    except IntegrityError as exc:
        raise _integrity_conflict(db, exc, window) from exc


def _integrity_conflict(db: Database, exc: IntegrityError, window: dict[str, Any]) -> Exception:
    code = getattr(exc.orig, "sqlstate", None)
    if code == EXCLUSION_VIOLATION:
        conflicts: list[ReservationOut] = []
        if window:
            with db.read() as session:
                rows = q.overlapping(session, [window["site"]], window["start"], window["end"],
                                     exclude_id=window["exclude"])
                conflicts = [q.to_out(r) for r in rows]
        return overlap_conflict(conflicts)
    if code == UNIQUE_VIOLATION or "UNIQUE" in str(exc.orig):
        return Conflict("a reservation with this id already exists")
    return ValidationError(f"rejected by the database: {exc.orig}")


def project_keys(db: Database, project_ids: set[int]) -> dict[int, tuple[str, datetime]]:
    """``{id: (name, created)}`` of the given projects."""
    if not project_ids:
        return {}
    with db.read() as session:
        rows = session.execute(select(Project.id, Project.name, Project.created)
                               .where(Project.id.in_(project_ids)))
        return {pid: (name, created) for pid, name, created in rows}


def project_id_by_name(db: Database, name: str) -> int:
    """The id of the project called ``name`` (400 if there is none)."""
    with db.read() as session:
        pid = session.scalar(select(Project.id).where(Project.name == name))
    if pid is None:
        raise ValidationError(f"no project named {name!r}")
    return int(pid)


def require_project(session: Session, project_id: int,
                    is_member: Callable[[Session, str, int], bool], username: str) -> bool:
    """400 if the project does not exist; else whether ``username`` is a member."""
    if session.get(Project, project_id) is None:
        raise ValidationError(f"no project {project_id}")
    return is_member(session, username, project_id)
