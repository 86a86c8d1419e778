"""The resolved grid: stored blocks, and defaults generated on read (never stored).

For each active person and day (P-Squared's backend "fills the gaps with default entries"):

* stored blocks of that day win (``stored`` when written by hand, ``import`` with the import's
  name as ``source``); a partly filled day shows only its stored blocks;
* otherwise, on a working day that is a holiday of the person's holiday calendar, a
  ``holiday`` block; the cell carries the holiday's name in any case (for everyone whose
  primary location is not ``none``, as P-Squared showed holidays);
* otherwise, on a working day, a ``default`` block: the primary location and shift;
* weekends (non-working days) and people whose primary location is ``none`` get nothing.

A cell also lists its conflicts: a duty block on a day the person has leave. Framework-free;
``PlannerService.grid`` reads the rows and hands them here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from . import timing
from .locations import HOLIDAY, LocationType
from .models import Employee
from .queries import StoredBlock
from .schemas import NO_LOCATION, GridBlock, GridCell, GridOut, GridRow


@dataclass(frozen=True)
class Person:
    """What the grid needs of an employee (a plain copy of the row)."""

    username: str
    display_name: str
    department: str
    roles: tuple[str, ...]
    base_camp: str
    timezone: str
    calendar: str
    primary_location: str
    shift_start: int
    shift_end: int
    working_days: int

    @classmethod
    def of(cls, row: Employee) -> Person:
        return cls(row.username, row.display_name, row.department, tuple(row.roles or ()),
                   row.base_camp, row.timezone, row.calendar, row.primary_location,
                   row.shift_start, row.shift_end, row.working_days)

    def works_on(self, day: date) -> bool:
        return bool(self.working_days >> day.weekday() & 1)

    @property
    def has_defaults(self) -> bool:
        return self.primary_location != NO_LOCATION


class GridBuilder:
    """Builds cells for one read; caches the UTC conversion of shared shifts."""

    def __init__(self, types: Mapping[str, LocationType],
                 holidays: Mapping[tuple[str, date], str]) -> None:
        self.types = types
        self.holidays = holidays
        self._shifts: dict[tuple[str, date, int, int], tuple[datetime, datetime, str, str]] = {}
        self._clocks: dict[tuple[str, datetime], str] = {}

    def shift(self, person: Person, day: date) -> tuple[datetime, datetime, str, str]:
        """The person's primary shift on ``day``: UTC start/end and local clock times."""
        key = (person.timezone, day, person.shift_start, person.shift_end)
        found = self._shifts.get(key)
        if found is None:
            tz = timing.zone(person.timezone)
            start, end = timing.interval(day, person.shift_start, person.shift_end, tz)
            found = (start, end, timing.local_clock(start, tz), timing.local_clock(end, tz))
            self._shifts[key] = found
        return found

    def clock(self, zone_name: str, instant: datetime) -> str:
        key = (zone_name, instant)
        found = self._clocks.get(key)
        if found is None:
            found = self._clocks[key] = timing.local_clock(instant, timing.zone(zone_name))
        return found

    def cell(self, person: Person, day: date, stored: Sequence[StoredBlock]) -> GridCell:
        """The resolved cell of ``person`` on ``day`` (``stored``: that day's live blocks)."""
        holiday = self.holidays.get((person.calendar, day)) if person.has_defaults else None
        if stored:
            blocks = [self.stored_block(b, person.timezone) for b in stored]
            return GridCell(day=day, blocks=blocks, holiday=holiday,
                            conflicts=self.conflicts(stored, person.timezone))
        if not person.has_defaults or not person.works_on(day):
            return GridCell(day=day, blocks=[], holiday=holiday)
        start, end, local_start, local_end = self.shift(person, day)
        if holiday is not None:
            block = GridBlock(location=HOLIDAY, start=start, end=end, local_start=local_start,
                              local_end=local_end, kind="holiday", note=holiday)
        else:
            block = GridBlock(location=person.primary_location, start=start, end=end,
                              local_start=local_start, local_end=local_end, kind="default")
        return GridCell(day=day, blocks=[block], holiday=holiday)

    def stored_block(self, b: StoredBlock, zone_name: str) -> GridBlock:
        return GridBlock(location=b.location, start=b.start, end=b.end,
                         local_start=self.clock(zone_name, b.start),
                         local_end=self.clock(zone_name, b.end),
                         kind="stored" if b.origin == "hand" else "import",
                         source=None if b.origin == "hand" else b.origin,
                         entry_id=b.entry_id, version=b.version, note=b.note)

    def conflicts(self, stored: Sequence[StoredBlock], zone_name: str) -> list[str]:
        """``"duty on leave: ..."`` for each duty block of a day that also has leave."""
        return [duty_on_leave(duty, leave, self.clock(zone_name, duty.start),
                              self.clock(zone_name, duty.end))
                for duty, leave in duty_leave_pairs(stored, self.types)]


def duty_leave_pairs(stored: Iterable[StoredBlock], types: Mapping[str, LocationType]
                     ) -> list[tuple[StoredBlock, StoredBlock]]:
    """Each duty block of a person's day paired with a leave block of that same day."""
    blocks = list(stored)
    kinds = [types[b.location].kind if b.location in types else "place" for b in blocks]
    leaves = [b for b, k in zip(blocks, kinds, strict=True) if k == "leave"]
    if not leaves:
        return []
    return [(b, leaves[0]) for b, k in zip(blocks, kinds, strict=True) if k == "duty"]


def duty_on_leave(duty: StoredBlock, leave: StoredBlock, start: str, end: str) -> str:
    origin = "night table" if duty.origin == "night" else duty.origin
    return (f"duty on leave: {duty.location} {start}-{end} ({origin}) while on "
            f"{leave.location}")


def build_grid(people: Sequence[Person], first: date, last: date,
               blocks: Sequence[StoredBlock], builder: GridBuilder,
               location: str | None = None) -> GridOut:
    """One row per person, one cell per day of ``[first, last]``."""
    by_cell: dict[tuple[str, date], list[StoredBlock]] = {}
    for b in blocks:
        by_cell.setdefault((b.username, b.day), []).append(b)
    dates = timing.days(first, last)
    rows = []
    for person in people:
        cells = [builder.cell(person, day, by_cell.get((person.username, day), ()))
                 for day in dates]
        if location is not None and not any(b.location == location for c in cells
                                            for b in c.blocks):
            continue
        rows.append(GridRow(username=person.username, display_name=person.display_name,
                            department=person.department, roles=list(person.roles),
                            base_camp=person.base_camp, timezone=person.timezone,
                            cells=cells))
    return GridOut(start=first, end=last, days=dates, rows=rows)


__all__ = ["GridBuilder", "Person", "build_grid", "duty_leave_pairs", "duty_on_leave"]
