"""The POC duty rota: who answers for TOO/DDT requests, reminders and escalations, day by day.

Periods are whole local days ``[start, end]`` that tile the calendar with no gap and no
overlap; the standard period is a week, Monday to Sunday. ``ensure_horizon`` appends weekly
periods until the rota reaches ``horizon_months`` ahead (run on every read and by the
reminder loop, idempotent: the unique ``start`` makes a racing extender a no-op).

* a POC (``poc_role``) signs up for a free period; an admin assigns anyone (or nobody);
* unlock: the period's POC (or an admin) frees it again;
* split: a period longer than ``min_split_days`` days is cut in two at a day inside it;
* delete-and-merge: an admin deletes a period and its days go to the previous or the next
  period, so no gap ever opens.

Every change is compare-and-set on the period's ``version`` and an ``OCAT_ROTA`` event.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from traitlets import Int, Unicode
from traitlets.config import LoggingConfigurable

from ..activity.protocols import EventRecorder
from ..core.db import Database
from ..core.errors import Conflict, Forbidden, NotFound, ValidationError
from ..core.identity import User
from ..core.timeutil import utcnow
from .models import OcatRotaPeriod
from .schemas import RotaCurrentOut, RotaPeriodOut
from .writes import transaction

ROTA = "OCAT_ROTA"
Clock = Callable[[], datetime]


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (clamped to the month's last day)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        with contextlib.suppress(ValueError):
            return date(year, month, min(day.day, last))
    raise ValueError(day)  # pragma: no cover


def period_out(row: OcatRotaPeriod) -> RotaPeriodOut:
    return RotaPeriodOut(id=row.id, start=row.start, end=row.end,
                         days=(row.end - row.start).days + 1, poc=row.poc,
                         assigned_by=row.assigned_by, locked=row.locked, modified=row.modified,
                         version=row.version)


class OcatRota(LoggingConfigurable):
    """The duty rota part (``c.OcatRota.*``)."""

    horizon_months = Int(8, config=True, help="How far ahead the rota is kept, in months.")
    past_days = Int(30, config=True, help="How many past days a rota listing shows.")
    min_split_days = Int(2, config=True, help="Only periods longer than this may be split.")
    poc_role = Unicode("usint", config=True, help="Role that may sign up for duty periods.")
    timezone = Unicode("America/New_York", config=True,
                       help="IANA time zone whose calendar days the periods cover.")

    def __init__(self, db: Database, events: EventRecorder, clock: Clock = utcnow,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db, self.events, self.clock = db, events, clock
        events.register_object_type(ROTA)

    def today(self, now: datetime | None = None) -> date:
        return (now or self.clock()).astimezone(ZoneInfo(self.timezone)).date()

    # -- horizon -----------------------------------------------------------------------------
    def ensure_horizon(self, now: datetime | None = None) -> int:
        """Append weekly periods up to ``horizon_months`` ahead; returns how many."""
        today = self.today(now)
        goal = add_months(today, self.horizon_months)
        with self.db.read() as session:
            last = session.scalar(select(func.max(OcatRotaPeriod.end)))
        if last is not None and last >= goal:
            return 0
        added = 0
        try:
            with self.db.write() as session:
                last = session.scalar(select(func.max(OcatRotaPeriod.end)))
                start = last + timedelta(days=1) if last else today - timedelta(
                    days=today.weekday())
                stamp = self.clock()
                while start <= goal:
                    session.add(OcatRotaPeriod(start=start, end=start + timedelta(days=6),
                                               locked=False, modified=stamp))
                    start += timedelta(days=7)
                    added += 1
        except IntegrityError:
            return 0  # another process extended it at the same moment
        return added

    # -- reading -------------------------------------------------------------------------------
    def periods(self, user: User, start: date | None = None, end: date | None = None
                ) -> list[RotaPeriodOut]:
        """Periods overlapping ``[start, end]`` (default: ``past_days`` back to the horizon)."""
        self.ensure_horizon()
        first = start or self.today() - timedelta(days=self.past_days)
        with self.db.read() as session:
            stmt = select(OcatRotaPeriod).where(OcatRotaPeriod.end >= first)
            if end is not None:
                stmt = stmt.where(OcatRotaPeriod.start <= end)
            return [period_out(r) for r in session.scalars(stmt.order_by(OcatRotaPeriod.start))]

    def current(self, user: User, now: datetime | None = None) -> RotaCurrentOut:
        """Who is on duty now."""
        now = now or self.clock()
        self.ensure_horizon(now)
        with self.db.read() as session:
            row = self._covering(session, self.today(now))
            return RotaCurrentOut(now=now, period=period_out(row) if row else None,
                                  poc=row.poc if row else None)

    def duty_poc(self, session: Session, now: datetime) -> str | None:
        """The duty POC at ``now`` (inside a caller's session; for escalations)."""
        row = self._covering(session, self.today(now))
        return row.poc if row else None

    def _covering(self, session: Session, day: date) -> OcatRotaPeriod | None:
        return session.scalars(select(OcatRotaPeriod).where(
            OcatRotaPeriod.start <= day, OcatRotaPeriod.end >= day)).first()

    # -- changes -------------------------------------------------------------------------------
    def signup(self, user: User, period_id: int, version: int | None = None) -> RotaPeriodOut:
        """Take a free period for yourself."""
        user.require_role(self.poc_role, "sign up for POC duty")
        with transaction(self.db) as session:
            row = self._load(session, period_id, version)
            if row.poc is not None:
                raise Conflict(f"the period from {row.start} is taken by {row.poc}")
            row.poc, row.assigned_by, row.locked = user.username, user.username, True
            return self._changed(session, user, row, "signed up")

    def assign(self, user: User, period_id: int, poc: str | None,
               version: int | None = None) -> RotaPeriodOut:
        """Give a period to ``poc`` (or to nobody): admins only."""
        if not user.is_admin:
            raise Forbidden(f"{user.username} may not assign POC duty")
        with transaction(self.db) as session:
            row = self._load(session, period_id, version)
            row.poc, row.assigned_by, row.locked = poc, user.username, poc is not None
            return self._changed(session, user, row, f"assigned to {poc or 'nobody'}")

    def unlock(self, user: User, period_id: int, version: int | None = None) -> RotaPeriodOut:
        """Free a period again (its POC or an admin)."""
        with transaction(self.db) as session:
            row = self._load(session, period_id, version)
            if row.poc != user.username and not user.is_admin:
                raise Forbidden(f"only {row.poc or 'its POC'} or an admin may unlock it")
            row.poc, row.assigned_by, row.locked = None, user.username, False
            return self._changed(session, user, row, "unlocked")

    def split(self, user: User, period_id: int, at: date, version: int | None = None
              ) -> list[RotaPeriodOut]:
        """Cut a period longer than ``min_split_days`` days in two; ``at`` starts the second."""
        with transaction(self.db) as session:
            row = self._load(session, period_id, version)
            if row.poc not in (None, user.username) and not user.is_admin:
                raise Forbidden("only its POC or an admin may split this period")
            days = (row.end - row.start).days + 1
            if days <= self.min_split_days:
                raise Conflict(f"only periods longer than {self.min_split_days} days can be "
                               f"split (this one has {days})")
            if not row.start < at <= row.end:
                raise ValidationError(f"split day {at} must be after {row.start} and not "
                                      f"after {row.end}")
            second = OcatRotaPeriod(start=at, end=row.end, poc=row.poc,
                                    assigned_by=row.assigned_by, locked=row.locked,
                                    modified=self.clock())
            row.end = at - timedelta(days=1)
            session.flush()
            session.add(second)
            first = self._changed(session, user, row, f"split at {at}")
            return [first, period_out(second)]

    def merge(self, user: User, period_id: int, into: str = "previous",
              version: int | None = None) -> RotaPeriodOut:
        """Delete a period; its days go to the previous or next period (admins only)."""
        if not user.is_admin:
            raise Forbidden(f"{user.username} may not delete rota periods")
        with transaction(self.db) as session:
            row = self._load(session, period_id, version)
            if into == "previous":
                other = session.scalars(select(OcatRotaPeriod).where(
                    OcatRotaPeriod.end == row.start - timedelta(days=1))).first()
            else:
                other = session.scalars(select(OcatRotaPeriod).where(
                    OcatRotaPeriod.start == row.end + timedelta(days=1))).first()
            if other is None:
                raise Conflict(f"no {into} period to merge {row.start}..{row.end} into")
            start, end = row.start, row.end
            session.delete(row)
            session.flush()
            if into == "previous":
                other.end = end
            else:
                other.start = start
            return self._changed(session, user, other,
                                 f"absorbed the deleted period {start}..{end}")

    def _load(self, session: Session, period_id: int, version: int | None) -> OcatRotaPeriod:
        row = session.scalars(select(OcatRotaPeriod).where(OcatRotaPeriod.id == period_id)
                              .with_for_update()).first()
        if row is None:
            raise NotFound(f"no rota period {period_id}")
        if version is not None and version != row.version:
            raise Conflict(f"rota period {period_id} is at version {row.version}, not "
                           f"{version}; reload and retry")
        return row

    def _changed(self, session: Session, user: User, row: OcatRotaPeriod, what: str
                 ) -> RotaPeriodOut:
        row.modified = self.clock()
        session.flush()
        self.events.record(session, user, action="MOD", object_type=ROTA,
                           object_id=str(row.id), status="SUCCESS",
                           data={"start": row.start.isoformat(), "end": row.end.isoformat(),
                                 "poc": row.poc},
                           message=f"rota {row.start}..{row.end}: {what}")
        return period_out(row)


__all__ = ["ROTA", "OcatRota", "add_months"]
