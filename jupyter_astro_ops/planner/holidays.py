"""Holidays per holiday calendar (one per site, e.g. ``main``, ``hilo``): from config and from
a table planner admins edit (TimeOff.Management's most-requested feature).

An employee belongs to one calendar (``Employee.calendar``); the grid shows that calendar's
holidays for everyone whose primary location is not ``none``. A day holds at most one holiday
per calendar; config wins over the table when both name one (the config is what the site
decided in writing). Every change of the table is a ``PLANNER_HOLIDAY`` activity event.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from traitlets import Dict, TraitError, validate
from traitlets.config import LoggingConfigurable

from ..activity.protocols import EventRecorder
from ..core.db import Database
from ..core.errors import Conflict, NotFound
from ..core.identity import User
from ..core.timeutil import utcnow
from . import queries as q
from .models import Holiday
from .rules import require_admin
from .schemas import HolidayIn, HolidayOut

OBJECT_TYPE = "PLANNER_HOLIDAY"
CONFIG = "config"


def parse_holidays(spec: dict[str, Any]) -> dict[tuple[str, date], str]:
    """``{calendar: {"2026-12-25": "Christmas Day"}}`` -> ``{(calendar, day): name}``."""
    out: dict[tuple[str, date], str] = {}
    for calendar, days in spec.items():
        if not isinstance(days, dict):
            raise ValueError(f"holidays[{calendar!r}] maps ISO dates to names")
        for text, name in days.items():
            try:
                day = date.fromisoformat(str(text))
            except ValueError as exc:
                raise ValueError(f"holidays[{calendar!r}]: {text!r} is not a date") from exc
            out[(str(calendar), day)] = str(name)[:256]
    return out


class PlannerHolidays(LoggingConfigurable):
    """Holidays of every calendar: ``c.PlannerHolidays.holidays`` plus the table."""

    holidays = Dict(
        config=True,
        help=("Holidays from config, per holiday calendar: {'main': {'2026-12-25': "
              "'Christmas Day'}}. Planner admins add more through the API or the dashboard."))

    def __init__(self, db: Database, events: EventRecorder, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db = db
        self.events = events
        events.register_object_type(OBJECT_TYPE)

    @validate("holidays")
    def _valid(self, proposal: Any) -> dict[str, Any]:
        try:
            parse_holidays(proposal["value"])
        except ValueError as exc:
            raise TraitError(f"PlannerHolidays.holidays: {exc}") from exc
        return dict(proposal["value"])

    def holiday_map(self, session: Session, first: date, last: date
                    ) -> dict[tuple[str, date], str]:
        """``{(calendar, day): name}`` of ``[first, last]`` (the config wins)."""
        found = {(r.calendar, r.day): r.name for r in q.holiday_rows(session, first, last)}
        found.update({k: v for k, v in parse_holidays(self.holidays).items()
                      if first <= k[1] <= last})
        return found

    def list_holidays(self, user: User, first: date, last: date,
                      calendar: str | None = None) -> list[HolidayOut]:
        """Holidays of ``[first, last]`` (of one calendar or all), by day."""
        with self.db.read() as session:
            rows = {(r.calendar, r.day): q.holiday_out(r)
                    for r in q.holiday_rows(session, first, last, calendar)}
        for (cal, day), name in parse_holidays(self.holidays).items():
            if first <= day <= last and calendar in (None, cal):
                rows[(cal, day)] = HolidayOut(id=None, calendar=cal, day=day, name=name,
                                              source="config", created_by=CONFIG)
        return sorted(rows.values(), key=lambda h: (h.day, h.calendar))

    def add_holiday(self, user: User, spec: HolidayIn) -> HolidayOut:
        """Add a holiday (planner admins); a day already holding one is a 409."""
        require_admin(user, "add holidays")
        if (spec.calendar, spec.day) in parse_holidays(self.holidays):
            raise Conflict(f"{spec.day.isoformat()} is already a holiday of {spec.calendar} "
                           "(from the configuration)")
        try:
            with self.db.write() as session:
                if q.holiday_rows(session, spec.day, spec.day, spec.calendar):
                    raise Conflict(f"{spec.day.isoformat()} is already a holiday of "
                                   f"{spec.calendar}")
                row = Holiday(calendar=spec.calendar, day=spec.day, name=spec.name,
                              created_by=user.username, created=utcnow())
                session.add(row)
                session.flush()
                self._record(session, user, "ADD", row)
                return q.holiday_out(row)
        except IntegrityError as exc:  # added at the same moment by someone else
            raise Conflict(f"{spec.day.isoformat()} is already a holiday of "
                           f"{spec.calendar}") from exc

    def delete_holiday(self, user: User, holiday_id: int) -> None:
        """Remove a holiday of the table (planner admins); config holidays stay."""
        require_admin(user, "remove holidays")
        with self.db.write() as session:
            row = session.get(Holiday, holiday_id)
            if row is None:
                raise NotFound(f"no holiday {holiday_id}")
            self._record(session, user, "DEL", row)
            session.delete(row)

    def _record(self, session: Session, user: User, action: str, row: Holiday) -> None:
        value = {"calendar": row.calendar, "day": row.day.isoformat(), "name": row.name}
        self.events.record(
            session, user, action=action, object_type=OBJECT_TYPE, object_id=str(row.id),
            status="SUCCESS", message=f"{action} holiday {row.name} on {value['day']} "
                                      f"({row.calendar})",
            data={"old": value if action == "DEL" else None,
                  "new": value if action == "ADD" else None})


__all__ = ["OBJECT_TYPE", "PlannerHolidays", "parse_holidays"]
