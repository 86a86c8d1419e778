"""The resolved grid: stored blocks, and defaults generated on read (never stored).

For each active person and day (P-Squared's backend "fills the gaps with default entries"):

* stored blocks of that day win (``stored`` when written by hand, ``import`` with the import's
  name as ``source``); a partly filled day shows only its stored blocks;
* otherwise, on a working day that is a holiday of the person's holiday calendar, a
  ``holiday`` block; the cell carries the holiday's name in any case (for everyone whose
  primary location is not ``none``, as P-Squared showed holidays);
* otherwise, on a working day, a ``default`` block: the primary location and shift;
* weekends (non-working days) and people whose primary location is ``none`` get nothing.

A cell also lists its conflicts: a duty block on a day the person has leave. The grid is built
as plain data in the shape of ``schemas.GridOut`` (a month of 500 people is 15,500 cells:
building models cell by cell would cost more than reading them), validated into ``GridOut`` by
``PlannerService.grid`` or rendered to JSON once by ``PlannerService.grid_json``.
``where_is`` answers "where is X now" from the same cells (yesterday's and today's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from . import timing
from .locations import HOLIDAY, LocationType
from .models import Employee
from .queries import StoredBlock
from .schemas import NO_LOCATION, GridBlock, GridCell, WhereIsOut


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
    """Builds cells (as plain data) for one read; generated blocks are shared between cells
    that show the same thing (everyone on the HQ shift that day), so a big grid costs one
    dict per stored block and per cell, not per generated block."""

    def __init__(self, types: Mapping[str, LocationType],
                 holidays: Mapping[tuple[str, date], str]) -> None:
        self.types = types
        self.holidays = holidays
        self._leave = frozenset(code for code, t in types.items() if t.kind == "leave")
        self._generated: dict[tuple[Any, ...], dict[str, Any]] = {}

    def generated(self, person: Person, day: date, holiday: str | None) -> dict[str, Any]:
        """The default (or holiday) block of ``person`` on ``day``."""
        location = HOLIDAY if holiday is not None else person.primary_location
        key = (person.timezone, day, person.shift_start, person.shift_end, location, holiday)
        found = self._generated.get(key)
        if found is None:
            tz = timing.zone(person.timezone)
            start, end = timing.interval(day, person.shift_start, person.shift_end, tz)
            found = self._generated[key] = {
                "location": location, "start": start, "end": end,
                "local_start": timing.local_clock(start, tz),
                "local_end": timing.local_clock(end, tz),
                "kind": "holiday" if holiday is not None else "default", "source": None,
                "entry_id": None, "version": None, "note": holiday or ""}
        return found

    def cell(self, person: Person, day: date, stored: Sequence[StoredBlock]) -> dict[str, Any]:
        """The resolved cell of ``person`` on ``day`` (``stored``: that day's live blocks)."""
        holiday = self.holidays.get((person.calendar, day)) if person.has_defaults else None
        if stored:
            ordered = sorted(stored, key=lambda b: b.start) if len(stored) > 1 else stored
            return {"day": day, "blocks": [stored_block(b) for b in ordered],
                    "holiday": holiday, "conflicts": self.conflicts(ordered)}
        if not person.has_defaults or not person.works_on(day):
            return {"day": day, "blocks": [], "holiday": holiday, "conflicts": []}
        return {"day": day, "blocks": [self.generated(person, day, holiday)],
                "holiday": holiday, "conflicts": []}

    def conflicts(self, stored: Sequence[StoredBlock]) -> list[str]:
        """``"duty on leave: ..."`` for each duty block of a day that also has leave."""
        if len(stored) < 2 or not any(b.location in self._leave for b in stored):
            return []
        return [duty_on_leave(duty, leave) for duty, leave in duty_leave_pairs(stored,
                                                                               self.types)]


def stored_block(b: StoredBlock) -> dict[str, Any]:
    """A stored block of the grid as plain data (``GridBlock``)."""
    hand = b.origin == "hand"
    return {"location": b.location, "start": b.start, "end": b.end,
            "local_start": timing.clock_of(b.local_start),
            "local_end": timing.clock_of(b.local_end),
            "kind": "stored" if hand else "import", "source": None if hand else b.origin,
            "entry_id": b.entry_id, "version": b.version, "note": b.note}


def duty_leave_pairs(stored: Iterable[StoredBlock], types: Mapping[str, LocationType]
                     ) -> list[tuple[StoredBlock, StoredBlock]]:
    """Each duty block of a person's day paired with a leave block of that same day."""
    blocks = list(stored)
    kinds = [types[b.location].kind if b.location in types else "place" for b in blocks]
    leaves = [b for b, k in zip(blocks, kinds, strict=True) if k == "leave"]
    if not leaves:
        return []
    return [(b, leaves[0]) for b, k in zip(blocks, kinds, strict=True) if k == "duty"]


def duty_on_leave(duty: StoredBlock, leave: StoredBlock) -> str:
    origin = "night table" if duty.origin == "night" else duty.origin
    return (f"duty on leave: {duty.location} {timing.clock_of(duty.local_start)}-"
            f"{timing.clock_of(duty.local_end)} ({origin}) while on {leave.location}")


def build_grid(people: Sequence[Person], first: date, last: date,
               blocks: Sequence[StoredBlock], builder: GridBuilder,
               location: str | None = None) -> dict[str, Any]:
    """One row per person, one cell per day of ``[first, last]``, as ``GridOut`` plain data."""
    by_cell: dict[tuple[str, date], list[StoredBlock]] = {}
    for b in blocks:
        by_cell.setdefault((b.username, b.day), []).append(b)
    dates = timing.days(first, last)
    rows = []
    for person in people:
        cells = [builder.cell(person, day, by_cell.get((person.username, day), ()))
                 for day in dates]
        if location is not None and not any(b["location"] == location for c in cells
                                            for b in c["blocks"]):
            continue
        rows.append({"username": person.username, "display_name": person.display_name,
                     "department": person.department, "roles": list(person.roles),
                     "base_camp": person.base_camp, "timezone": person.timezone,
                     "cells": cells})
    return {"start": first, "end": last, "days": dates, "rows": rows}


def where_is(person: Person, at: datetime, today: date, blocks: Sequence[StoredBlock],
             builder: GridBuilder) -> WhereIsOut:
    """Where ``person`` is at ``at`` (``today``: that instant's local day; ``blocks``: theirs
    of the day before and of ``today``, as a night shift may still run), with a sentence."""
    yesterday = today - timedelta(days=1)
    cells = {d: GridCell.model_validate(builder.cell(person, d, [b for b in blocks
                                                                  if b.day == d]))
             for d in (yesterday, today)}
    now = [b for d in (yesterday, today) for b in cells[d].blocks if b.start <= at < b.end]
    return WhereIsOut(username=person.username, display_name=person.display_name, at=at,
                      timezone=person.timezone,
                      local_time=timing.local_clock(at, timing.zone(person.timezone)),
                      now=now, today=cells[today],
                      summary=_summary(person, now, cells[today].blocks, builder.types))


def _summary(person: Person, now: list[GridBlock], today: list[GridBlock],
             types: Mapping[str, LocationType]) -> str:
    who = f"{person.display_name} ({person.username})"
    if now:
        b = now[0]
        label = types[b.location].label if b.location in types else b.location
        return (f"{who} is at {label} ({b.location}) until {b.local_end} "
                f"{person.timezone} ({b.kind})")
    if today:
        plan = ", ".join(f"{b.location} {b.local_start}-{b.local_end} ({b.kind})"
                         for b in today)
        return f"{who} has nothing scheduled right now; today: {plan}"
    return f"{who} has nothing scheduled today"


__all__ = [
    "GridBuilder",
    "Person",
    "build_grid",
    "duty_leave_pairs",
    "duty_on_leave",
    "stored_block",
    "where_is",
]
