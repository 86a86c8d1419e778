"""Local wall-clock times of a person's day, turned into aware UTC (framework-free).

A block is given as ``"HH:MM"`` to ``"HH:MM"`` on a local day in the employee's zone; an end
at or before the start (``"18:00"`` to ``"06:00"``) is an overnight block that ends the next
day, ``"24:00"`` is midnight at the end of the day. The conversion goes through ``zoneinfo``,
so a DST change day is right: an 08:00-17:00 shift lasts 9 h of wall clock but 8 or 10 h of
real time, and a local time that does not exist (inside the spring-forward gap) is refused
when a person types it (``strict``) and moved forward when a default is generated.
Ambiguous local times (the repeated hour in autumn) take their first occurrence.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..core.errors import ValidationError

DAY_MINUTES = 24 * 60


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ``ValidationError`` if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown time zone {name!r}") from exc


def minutes(text: str) -> int:
    """``"08:30"`` -> 510; ``"24:00"`` -> 1440 (``ValidationError`` on anything else)."""
    hours, sep, mins = text.partition(":")
    if not sep or not hours.isdigit() or not mins.isdigit() or len(mins) != 2:
        raise ValidationError(f"{text!r} is not a time of day (HH:MM)")
    value = int(hours) * 60 + int(mins)
    if int(mins) > 59 or value > DAY_MINUTES:
        raise ValidationError(f"{text!r} is not a time of day (HH:MM)")
    return value


def clock(value: int) -> str:
    """Minutes after midnight as ``"HH:MM"`` (1440 -> ``"24:00"``)."""
    return f"{value // 60:02d}:{value % 60:02d}"


def shift_minutes(text: str) -> tuple[int, int]:
    """``"08:00-17:00"`` -> ``(480, 1020)``."""
    start, sep, end = text.partition("-")
    if not sep:
        raise ValidationError(f"{text!r} is not a shift (HH:MM-HH:MM)")
    return minutes(start.strip()), minutes(end.strip())


def local_instant(day: date, minute: int, tz: ZoneInfo, *, strict: bool = False) -> datetime:
    """``minute`` minutes after local midnight of ``day`` in ``tz``, as aware UTC.

    With ``strict``, a wall-clock time that does not exist that day (a DST gap) is a
    ``ValidationError`` naming it; otherwise it is read as the instant just after the gap.
    """
    days, rest = divmod(minute, DAY_MINUTES)
    when = day + timedelta(days=days)
    local = datetime.combine(when, time(rest // 60, rest % 60), tzinfo=tz)
    utc = local.astimezone(timezone.utc)
    if strict and utc.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValidationError(
            f"{clock(rest)} does not exist on {when.isoformat()} in {tz.key} (the clocks "
            "skip it for daylight saving time)")
    return utc


def interval(day: date, start: int, end: int, tz: ZoneInfo, *,
             strict: bool = False) -> tuple[datetime, datetime]:
    """The UTC interval of a block from ``start`` to ``end`` (minutes) on ``day``; an end at
    or before the start ends the next day (the caller refuses ``start == end``)."""
    if end <= start:
        end += DAY_MINUTES
    return (local_instant(day, start, tz, strict=strict),
            local_instant(day, end, tz, strict=strict))


def local_clock(instant: datetime, tz: ZoneInfo) -> str:
    """The wall-clock ``"HH:MM"`` of ``instant`` in ``tz``."""
    local = instant.astimezone(tz)
    return f"{local.hour:02d}:{local.minute:02d}"


def local_minutes(day: date, instant: datetime, tz: ZoneInfo) -> int:
    """Wall-clock minutes of ``instant`` in ``tz`` after local midnight of ``day`` (more than
    1440 on the next day, for overnight blocks)."""
    local = instant.astimezone(tz)
    return (local.date() - day).days * DAY_MINUTES + local.hour * 60 + local.minute


CLOCKS = tuple(f"{m // 60 % 24:02d}:{m % 60:02d}" for m in range(DAY_MINUTES))


def clock_of(minutes_after_midnight: int) -> str:
    """``"HH:MM"`` of a wall-clock minute count (modulo one day): a table lookup."""
    return CLOCKS[minutes_after_midnight % DAY_MINUTES]


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    """The local date of ``instant`` in ``tz``."""
    return instant.astimezone(tz).date()


def days(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last`` (both included)."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def chosen_days(first: date, last: date, weekdays: Collection[int] | None,
                max_days: int) -> list[date]:
    """The days of a write from ``first`` to ``last`` on the ``weekdays`` (0 is Monday;
    ``None``: every day). ``ValidationError`` for a range that runs backwards, spans more than
    ``max_days`` or holds none of the chosen weekdays."""
    if last < first:
        raise ValidationError("end_date must not be before start_date")
    if (last - first).days + 1 > max_days:
        raise ValidationError(f"a write spans at most {max_days} days ({first.isoformat()}.."
                              f"{last.isoformat()} is {(last - first).days + 1})")
    chosen = [d for d in days(first, last) if weekdays is None or d.weekday() in weekdays]
    if not chosen:
        raise ValidationError("no day of the range is one of the chosen weekdays")
    return chosen


__all__ = ["CLOCKS", "DAY_MINUTES", "chosen_days", "clock", "clock_of", "days", "interval",
           "local_clock", "local_day", "local_instant", "local_minutes", "minutes",
           "shift_minutes", "zone"]
