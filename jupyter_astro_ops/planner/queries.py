"""SQL reads of the planner and row conversion (ORM rows never leave the service).

The grid, the coverage and ``GET entries`` read every live block of a window in *one* Core
statement over plain columns (no ORM identity map), joined to its entry; ``StoredBlock`` is
that row. Windows that must see overnight blocks of the day before are widened by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from pydantic import TypeAdapter
from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from ..core.timeutil import as_utc
from . import timing
from .models import Block, Employee, Entry, Holiday
from .rules import Span
from .schemas import WEEKDAYS, BlockOut, EmployeeOut, EntryOut, HolidayOut

ENTRY_LIST: TypeAdapter[list[EntryOut]] = TypeAdapter(list[EntryOut])


class StoredBlock(NamedTuple):
    """One live block with what the grid needs of its entry."""

    entry_id: str
    username: str
    day: date
    timezone: str
    origin: str
    version: int
    note: str
    location: str
    start: datetime
    end: datetime
    local_start: int
    local_end: int


class _Memo:
    """Turns raw column values into dates and aware UTC instants, once per distinct value.

    The columns are read as they come from the driver (SQLite: ISO text; PostgreSQL: date
    and datetime objects); a window holds few distinct days and instants (everyone's 08:00),
    so converting each distinct value once saves most of the per-row work of a big read.
    """

    def __init__(self) -> None:
        self.days: dict[Any, date] = {}
        self.instants: dict[Any, datetime] = {}

    def day(self, raw: Any) -> date:
        found = self.days.get(raw)
        if found is None:
            found = self.days[raw] = raw if isinstance(raw, date) else date.fromisoformat(raw)
        return found

    def instant(self, raw: Any) -> datetime:
        found = self.instants.get(raw)
        if found is None:
            value = raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)
            found = self.instants[raw] = as_utc(value)
        return found


def stored_blocks(session: Session, first: date, last: date,
                  usernames: Iterable[str] | None = None,
                  include_deleted: bool = False,
                  locations: Iterable[str] | None = None) -> list[StoredBlock]:
    """Blocks of entries whose day is in ``[first, last]`` (one Core statement, unordered:
    callers group by person and day, and ``cell_blocks`` orders a cell by start)."""
    e, b = Entry.__table__.c, Block.__table__.c
    stmt = (
        select(e.id, e.username, type_coerce(e.day, String), e.timezone, e.origin, e.version,
               e.note, b.location, type_coerce(b.start, String), type_coerce(b.end, String),
               b.local_start, b.local_end)
        .join_from(Entry.__table__, Block.__table__, b.entry_id == e.id)
        .where(e.day >= first, e.day <= last))
    if not include_deleted:
        stmt = stmt.where(e.deleted.is_(False))
    if usernames is not None:
        stmt = stmt.where(e.username.in_(sorted(set(usernames))))
    if locations is not None:
        stmt = stmt.where(b.location.in_(sorted(set(locations))))
    memo = _Memo()
    day, instant = memo.day, memo.instant
    rows = session.connection().execute(stmt).all()  # one fetchall, not a fetchone per row
    return [StoredBlock(r[0], r[1], day(r[2]), r[3], r[4], r[5], r[6], r[7], instant(r[8]),
                        instant(r[9]), r[10], r[11]) for r in rows]


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
    """Live entries on ``[first, last]`` with their blocks, validated into ``EntryOut``."""
    return ENTRY_LIST.validate_python(entry_rows(session, first, last, usernames))


def entry_rows(session: Session, first: date, last: date,
               usernames: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Live entries on ``[first, last]`` with their blocks as ``EntryOut`` plain data (one
    statement; ``GET planner/entries`` renders these without building models)."""
    e, b = Entry.__table__.c, Block.__table__.c
    stmt = (
        select(e.id, e.username, type_coerce(e.day, String), e.timezone, e.note, e.seats,
               e.alternate_pickup, e.summit_lead, e.support_lead, e.crew_lead, e.origin,
               e.source, e.entered_by, e.version, type_coerce(e.created, String),
               type_coerce(e.modified, String), b.location, type_coerce(b.start, String),
               type_coerce(b.end, String), b.local_start, b.local_end)
        .join_from(Entry.__table__, Block.__table__, b.entry_id == e.id)
        .where(e.day >= first, e.day <= last, e.deleted.is_(False)))
    if usernames is not None:
        stmt = stmt.where(e.username.in_(sorted(set(usernames))))
    memo = _Memo()
    found: dict[str, dict[str, Any]] = {}
    for r in session.connection().execute(stmt).all():
        out = found.get(r[0])
        if out is None:
            out = found[r[0]] = {
                "id": r[0], "username": r[1], "day": memo.day(r[2]), "timezone": r[3],
                "note": r[4], "seats": r[5], "alternate_pickup": r[6], "summit_lead": r[7],
                "support_lead": r[8], "crew_lead": r[9], "origin": r[10], "source": r[11],
                "entered_by": r[12], "version": r[13], "deleted": False,
                "created": memo.instant(r[14]), "modified": memo.instant(r[15]), "blocks": []}
        out["blocks"].append(block_dict(r[16], memo.instant(r[17]), memo.instant(r[18]),
                                        r[19], r[20]))
    rows = sorted(found.values(), key=lambda x: (x["username"], x["day"], x["origin"]))
    for row in rows:
        if len(row["blocks"]) > 1:
            row["blocks"].sort(key=lambda x: x["start"])
    return rows


def block_dict(location: str, start: datetime, end: datetime, local_start: int,
               local_end: int) -> dict[str, Any]:
    """A ``BlockOut`` as plain data (local times from the stored wall-clock minutes)."""
    return {"location": location, "start": start, "end": end,
            "local_start": timing.clock_of(local_start),
            "local_end": timing.clock_of(local_end), "overnight": local_end > timing.DAY_MINUTES}


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
           "entry_rows", "hand_entries", "holiday_out", "holiday_rows", "person_spans",
           "stored_blocks", "weekday_mask", "weekday_names"]
