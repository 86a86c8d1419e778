"""Rule checks and the conditional UPDATE of the calendar (framework-free).

Kept apart from ``service.py`` so the service reads as the list of operations: the checks of a
reservation's times and state, and ``update_row``, the one conditional UPDATE that every change
of a reservation goes through (see ``writes.ReservationWriter``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, update
from sqlalchemy.orm import Session

from ..core.errors import Conflict, ValidationError
from ..core.timeutil import as_utc, isoformat, utcnow
from . import queries as q
from .models import Reservation
from .schemas import ReservationOut, SiteIn


def check_timezone(name: str) -> str:
    """Return ``name`` if it is an IANA time zone, else raise ``ValidationError``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown time zone {name!r}") from exc
    return name


def check_site_config(sites: dict[str, Any], error: type[Exception]) -> dict[str, Any]:
    """``sites`` (``c.CalendarService.sites``: code -> name, timezone) if every entry is a
    valid site; else ``error`` naming the first that is not."""
    for code, spec in sites.items():
        try:
            SiteIn(code=code, **spec)
            check_timezone(spec.get("timezone", "UTC"))
        except Exception as exc:
            raise error(f"CalendarService.sites[{code!r}]: {exc}") from exc
    return sites


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


def update_row(session: Session, row: Reservation, values: dict[str, Any], *,
               current_status: str = "active", when: datetime | None = None) -> None:
    """One conditional UPDATE: applies only if nobody changed the row since it was read
    (same ``version``, still ``current_status``); bumps ``version`` and ``sequence``."""
    table: Table = Reservation.__table__  # type: ignore[assignment]
    result = session.execute(
        update(table)
        .where(table.c.id == row.id, table.c.version == row.version,
               table.c.status == current_status)
        .values(**values, version=table.c.version + 1, sequence=table.c.sequence + 1,
                modified=when or utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"reservation {row.id} was changed by someone else; reload and retry")
    session.refresh(row)
