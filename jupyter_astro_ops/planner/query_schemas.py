"""Query-string models (pydantic) of the planner's ``GET`` routes, bounded like every input.

Dates are ISO ``YYYY-MM-DD``; ``end`` is the last day included (default: ``start``).
"""

from __future__ import annotations

from ..core.wire import Instant
from .schemas import CalendarCode, Day, Department, LocationCode, RoleName, Username, _Strict


class GridQuery(_Strict):
    """``GET planner/grid?start=&end=&department=&location=&role=``."""

    start: Day
    end: Day | None = None
    department: Department | None = None
    location: LocationCode | None = None
    role: RoleName | None = None
    user: Username | None = None


class EntriesQuery(_Strict):
    """``GET planner/entries?start=&end=&user=&department=``: stored entries only."""

    start: Day
    end: Day | None = None
    user: Username | None = None
    department: Department | None = None


class WhereIsQuery(_Strict):
    """``GET planner/whereis?user=&at=`` (default: yourself, now)."""

    user: Username | None = None
    at: Instant | None = None


class RangeQuery(_Strict):
    """``?start=&end=`` (dates, ``end`` included)."""

    start: Day
    end: Day | None = None


class HolidayQuery(RangeQuery):
    calendar: CalendarCode | None = None


class EmployeesQuery(_Strict):
    department: Department | None = None
    include_inactive: bool = False


class SwapsQuery(_Strict):
    """``GET planner/swaps``: yours (asked by or of you); ``all`` for planner_admins."""

    all: bool = False
    open: bool = False
