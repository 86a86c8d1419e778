"""SQL reads of the planner and row conversion (ORM rows never leave the service).

The grid and the coverage read every live block of a window in *one* statement over plain
columns (no ORM identity map), joined to its entry; ``StoredBlock`` is that row. The window is
widened by a day at each end so that overnight blocks of the day before are seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import timing
from .models import Block, Employee, Entry, Holiday
from .rules import Span
from .schemas import WEEKDAYS, BlockOut, EmployeeOut, EntryOut, HolidayOut


class StoredBlock(NamedTuple):
    """One live block with what the grid needs of its entry."""

    entry_id: str
    username: str
    day: date
    timezone: str
    origin: str
    source: str | None
    version: int
    note: str
    location: str
    start: datetime
    end: datetime


def stored_blocks(session: Session, first: date, last: date,
                  usernames: Iterable[str] | None = None,
                  include_deleted: bool = False) -> list[StoredBlock]:
    """Blocks of entries whose day is in ``[first, last]``, ordered by person, day, start."""
    stmt = (
        select(Entry.id, Entry.username, Entry.day, Entry.timezone, Entry.origin, Entry.source,
               Entry.version, Entry.note, Block.location, Block.start, Block.end)
        .join(Block, Block.entry_id == Entry.id)
        .where(Entry.day >= first, Entry.day <= last))
    if not include_deleted:
        stmt = stmt.where(Entry.deleted.is_(False))
    if usernames is not None:
        stmt = stmt.where(Entry.username.in_(sorted(set(usernames))))
    stmt = stmt.order_by(Entry.username, Entry.day, Block.start)
    return [StoredBlock._make(r) for r in session.execute(stmt)]


def person_spans(session: Session, username: str, first: date, last: date,
                 exclude: Iterable[str] = ()) -> list[Span]:
    """The live blocks of ``username`` on ``[first, last]`` as rule spans (write checks)."""
    skip = set(exclude)
    return [Span(b.location, b.start, b.end, entry_id=b.entry_id, origin=b.origin, day=b.day,
                 zone=b.timezone)
            for b in stored_blocks(session, first, last, [username]) if b.entry_id not in skip]


def hand_entries(session: Session, username: str, days: Sequence[date]) -> dict[date, Entry]:
    """The live hand entries of ``username`` on ``days`` (at most one per day)."""
    stmt = select(Entry).where(Entry.username == username, Entry.day.in_(list(days)),
                               Entry.origin == "hand", Entry.deleted.is_(False))
    return {row.day: row for row in session.scalars(stmt)}


def entries(session: Session, first: date, last: date, usernames: Iterable[str] | None = None,
            ) -> list[EntryOut]:
    """Live entries on ``[first, last]`` with their blocks (``GET planner/entries``)."""
    blocks = stored_blocks(session, first, last, usernames)
    grouped: dict[str, list[StoredBlock]] = {}
    for b in blocks:
        grouped.setdefault(b.entry_id, []).append(b)
    stmt = select(Entry).where(Entry.id.in_(list(grouped))) if grouped else None
    rows = list(session.scalars(stmt)) if stmt is not None else []
    rows.sort(key=lambda r: (r.username, r.day, r.origin))
    return [entry_out(r, [(b.location, b.start, b.end) for b in grouped[r.id]]) for r in rows]


def block_out(location: str, start: datetime, end: datetime, zone_name: str) -> BlockOut:
    tz = timing.zone(zone_name)
    return BlockOut(location=location, start=start, end=end,
                    local_start=timing.local_clock(start, tz),
                    local_end=timing.local_clock(end, tz),
                    overnight=timing.local_day(end - timedelta(microseconds=1), tz)
                    > timing.local_day(start, tz))


def entry_out(row: Entry, blocks: Sequence[tuple[str, datetime, datetime]]) -> EntryOut:
    """Convert an entry row and its ``(location, start, end)`` blocks."""
    return EntryOut(
        id=row.id, username=row.username, day=row.day, timezone=row.timezone,
        blocks=[block_out(loc, s, e, row.timezone) for loc, s, e in blocks],
        note=row.note, seats=row.seats, alternate_pickup=row.alternate_pickup,
        summit_lead=row.summit_lead, support_lead=row.support_lead, crew_lead=row.crew_lead,
        origin=row.origin, source=row.source, entered_by=row.entered_by, version=row.version,
        deleted=row.deleted, created=row.created, modified=row.modified)


def employee_out(row: Employee) -> EmployeeOut:
    return EmployeeOut(
        username=row.username, display_name=row.display_name, department=row.department,
        roles=list(row.roles or []), base_camp=row.base_camp,
        primary_location=row.primary_location, shift_start=timing.clock(row.shift_start),
        shift_end=timing.clock(row.shift_end), working_days=weekday_names(row.working_days),
        timezone=row.timezone, calendar=row.calendar, active=row.active, source=row.source,
        version=row.version, modified=row.modified)


def weekday_names(mask: int) -> list[Any]:
    """Bit mask (bit 0 = Monday) -> ``["mon", ...]``."""
    return [name for i, name in enumerate(WEEKDAYS) if mask >> i & 1]


def weekday_mask(names: Iterable[str]) -> int:
    return sum(1 << WEEKDAYS.index(n) for n in set(names))


def employees(session: Session, department: str | None = None, active_only: bool = True,
              role: str | None = None) -> list[Employee]:
    """Employees by display name (filtered by department, active flag and role)."""
    stmt = select(Employee)
    if department is not None:
        stmt = stmt.where(Employee.department == department)
    if active_only:
        stmt = stmt.where(Employee.active.is_(True))
    rows = list(session.scalars(stmt.order_by(Employee.department, Employee.display_name,
                                              Employee.username)))
    if role is not None:
        rows = [r for r in rows if role in (r.roles or [])]
    return rows


def holiday_rows(session: Session, first: date, last: date, calendar: str | None = None
                 ) -> list[Holiday]:
    stmt = select(Holiday).where(Holiday.day >= first, Holiday.day <= last)
    if calendar is not None:
        stmt = stmt.where(Holiday.calendar == calendar)
    return list(session.scalars(stmt.order_by(Holiday.day, Holiday.calendar)))


def holiday_out(row: Holiday) -> HolidayOut:
    return HolidayOut(id=row.id, calendar=row.calendar, day=row.day, name=row.name,
                      source="table", created_by=row.created_by)


__all__ = ["StoredBlock", "block_out", "employee_out", "employees", "entries", "entry_out",
           "hand_entries", "holiday_out", "holiday_rows", "person_spans", "stored_blocks",
           "weekday_mask", "weekday_names"]
