"""The day, week (Monday first) and month a dashboard view shows, and the step between them:
the calendar and the people planner page through time the same way."""

from __future__ import annotations

from datetime import date, timedelta


def days_of(view: str, day: date) -> tuple[date, date]:
    """``(first, last)`` day, both included, of the day, the week or the month of ``day``."""
    if view == "day":
        return day, day
    if view == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    first = day.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def step(view: str, day: date, direction: int) -> date:
    """``day`` moved one view-length forwards (``+1``) or backwards (``-1``)."""
    if view == "day":
        return day + timedelta(days=direction)
    if view == "week":
        return day + timedelta(days=7 * direction)
    month = day.month - 1 + direction
    return date(day.year + month // 12, month % 12 + 1, 1)
