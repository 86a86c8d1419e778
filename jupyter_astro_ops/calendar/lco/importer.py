"""Importing an LCO-portal-shaped schedule into a site's calendar (``c.LcoImporter.*``).

What Photon Ranch's ``import-schedules`` + ``remove-expired-lco-schedule`` did, made safe:

* imported reservations carry origin ``lco`` and the observation id as ``external_id``;
* the last schedule imported per site is tracked (``ScheduleImport``: source + digest), so a
  re-run of the same schedule reads but writes nothing: no rows, no activity events;
* a newer schedule replaces the *future* imported reservations: changed ones are updated in
  place (same id, ``SEQUENCE`` grows, so iCal clients move them), vanished ones are cancelled,
  new ones added; anything that has already started is left alone;
* every write goes through the calendar's one write path (``writes.ReservationWriter``: the
  no-overlap rule, the conditional UPDATE, the ``RESERVATION`` event) inside ONE write
  transaction (the site row is locked, so concurrent importers of a site queue up); a clash
  with a local booking is never overwritten: the observation is skipped and a WARNING activity
  event names both.

``LcoImporter`` is built once by the composition root; its ``loop`` imports every configured
source every ``interval_seconds`` when background work runs in the process.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from traitlets import Bool, Dict, Float, Unicode
from traitlets.config import LoggingConfigurable

from ...activity.protocols import EventRecorder
from ...core.db import Database
from ...core.errors import Conflict, NotFound
from ...core.identity import User
from ...core.lifecycle import BackgroundLoop
from ...core.timeutil import isoformat, utcnow
from ..models import Reservation, Site
from ..schemas import ReservationOut
from ..writes import LCO_ORIGIN, Booking, ReservationWriter, Tx, transaction
from .models import ScheduleImport
from .reader import Observation, Schedule, as_json, parse_schedule, read_source
from .schemas import Clash, ImportStatus, ImportSummary

ORIGIN = LCO_ORIGIN
IMPORT_OBJECT_TYPE = "SCHEDULE_IMPORT"
HELD = "held"


class ImportTarget(Protocol):
    """What the importer needs from the calendar service."""

    admin_role: str

    def ensure_sites(self) -> None: ...


class _Pending:
    """An observation to add (``row`` is None) or an imported booking to update."""

    def __init__(self, obs: Observation, row: Reservation | None) -> None:
        self.obs, self.row = obs, row
        self.was_active = row is not None and row.status == "active"
        self.changed = [] if row is None else _differences(row, obs) + (
            [] if self.was_active else ["status"])


class _DryRun(Exception):
    """Raised inside the write transaction to roll a dry run back."""


class LcoImporter(LoggingConfigurable):
    """Imports LCO schedules: by hand (``import_schedule``, ``run_site``) or periodically."""

    sources = Dict(
        key_trait=Unicode(), value_trait=Unicode(), config=True,
        help=(
            "Site code -> fsspec URL of its schedule JSON (LCO observation portal shape), e.g. "
            "{'saf': 's3://ops-bucket/schedules/saf.json'}. Empty: no periodic import."
        ),
    )
    interval_seconds = Float(
        300.0, config=True, help="Seconds between two imports of every configured source."
    )
    storage_options = Dict(
        config=True,
        help="fsspec storage options for every source (credentials, endpoint_url, anon, ...).",
    )
    filters = Dict(
        config=True,
        help=(
            "Site code -> {observation field: value}: import only matching observations, e.g. "
            "{'saf': {'telescope': '0m35'}} when the external site has several telescopes."
        ),
    )
    username = Unicode(
        "importer", config=True, help="User name recorded as the creator of imported bookings."
    )
    enabled = Bool(True, config=True, help="Run the periodic import when sources are configured.")

    def __init__(self, db: Database, events: EventRecorder, calendar: ImportTarget,
                 writer: ReservationWriter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db = db
        self.events = events
        self.calendar = calendar
        self.writer = writer
        events.register_object_type(IMPORT_OBJECT_TYPE)
        self.loop = BackgroundLoop("astro-ops-lco-import", self._round,
                                   interval=self.interval_seconds, log=self.log)

    @property
    def periodic(self) -> bool:
        """Whether the periodic import has anything to do."""
        return self.enabled and bool(self.sources)

    def identity(self) -> User:
        """The system identity imports act as (holds the calendar admin role)."""
        return User(self.username, display_name="Schedule importer",
                    roles=frozenset({self.calendar.admin_role}))

    # -- entry points ----------------------------------------------------------------------
    def import_schedule(
        self, user: User, site: str, source: str, *,
        storage_options: Mapping[str, Any] | None = None,
        filters: Mapping[str, Any] | None = None, dry_run: bool = False, force: bool = False,
        now: datetime | None = None,
    ) -> ImportSummary:
        """Read ``source`` (any fsspec URL) and bring ``site``'s imported reservations in line."""
        user.require_role(self.calendar.admin_role, "import schedules")
        schedule = parse_schedule(read_source(source, storage_options), filters)
        return self.apply_schedule(user, site, schedule, source=source, dry_run=dry_run,
                                   force=force, now=now)

    def apply_schedule(
        self, user: User, site: str, schedule: Schedule, *, source: str,
        dry_run: bool = False, force: bool = False, now: datetime | None = None,
    ) -> ImportSummary:
        """Apply a parsed schedule in one write transaction (rolled back for a dry run)."""
        user.require_role(self.calendar.admin_role, "import schedules")
        self.calendar.ensure_sites()
        summary = ImportSummary(site=site, source=source, digest=schedule.digest,
                                dry_run=dry_run, observations=len(schedule.observations),
                                invalid=schedule.invalid)
        with self.db.read() as session:
            if session.get(Site, site) is None:
                raise NotFound(f"no site {site!r}")
            if not force and _tracked_digest(session, site) == summary.digest:
                return _unchanged(summary)
        try:
            with transaction(self.db) as tx:
                _lock_site(tx, site)
                if not force and _tracked_digest(tx.session, site) == summary.digest:
                    return _unchanged(summary)  # another importer got there first
                _Run(self, tx, user, site, now or utcnow(), summary).run(
                    schedule.observations)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        return summary

    def status(self, user: User) -> list[ImportStatus]:
        """The last import of every site that has one (any logged-in user may look)."""
        with self.db.read() as session:
            rows = session.scalars(select(ScheduleImport).order_by(ScheduleImport.site))
            return [ImportStatus(site=r.site, source=r.source, digest=r.digest,
                                 observations=r.observations, imported_at=r.imported_at,
                                 summary=r.summary or {}) for r in rows]

    def run_site(self, user: User, site: str, *, dry_run: bool = False,
                 force: bool = False) -> ImportSummary:
        """Import ``site``'s configured source now (``user`` must be a calendar admin).

        Only configured sources can be run this way, so no caller can make the server read
        an arbitrary URL; the writes are attributed to the importer identity.
        """
        user.require_role(self.calendar.admin_role, "import schedules")
        source = self.sources.get(site)
        if not source:
            raise NotFound(f"no schedule source configured for site {site!r}")
        return self.import_schedule(
            self.identity(), site, source, storage_options=self.storage_options,
            filters=self.filters.get(site), dry_run=dry_run, force=force)

    def run_once(self, now: datetime | None = None) -> list[ImportSummary]:
        """Import every configured source once; a failing source is logged, not fatal."""
        user = self.identity()
        done = []
        for site, source in sorted(self.sources.items()):
            try:
                summary = self.import_schedule(
                    user, site, source, storage_options=self.storage_options,
                    filters=self.filters.get(site), now=now)
            except Exception:
                self.log.exception("schedule import of %s from %s failed", site, source)
                continue
            if summary.changed:
                self.log.info("schedule import %s", summary.line())
            done.append(summary)
        return done

    async def _round(self) -> None:
        await asyncio.to_thread(self.run_once)


class _Run:
    """One import inside one write transaction."""

    def __init__(self, importer: LcoImporter, tx: Tx, user: User, site: str, now: datetime,
                 summary: ImportSummary) -> None:
        self.importer, self.writer, self.tx = importer, importer.writer, tx
        self.session, self.user = tx.session, user
        self.site, self.now, self.summary = site, now, summary

    def run(self, observations: list[Observation]) -> None:
        rows = {r.external_id: r for r in self.session.scalars(
            select(Reservation).where(Reservation.site == self.site,
                                      Reservation.origin == ORIGIN))}
        wanted = {o.external_id for o in observations}
        for ext, gone in sorted(rows.items(), key=lambda kv: kv[1].start):
            if ext not in wanted and gone.status == "active" and gone.start >= self.now:
                self._cancel(gone, "active")
        pending: list[_Pending] = []
        for obs in sorted(observations, key=lambda o: (o.start, o.external_id)):
            row = rows.get(obs.external_id)
            if obs.start < self.now or (row is not None and row.start < self.now):
                self.summary.past += 1
            elif row is not None and row.status == "active" and not _differences(row, obs):
                self.summary.unchanged += 1
            else:
                pending.append(_Pending(obs, row))
        self._place(pending)
        self._track()

    def _place(self, pending: list[_Pending]) -> None:
        """Hold the imported rows that move, then place every observation in start order.

        Holding (``writer.hold``: parked inside this transaction, no event) lets imported
        bookings trade slots, even in a cycle, without ever overlapping (the PostgreSQL
        exclusion constraint is checked per statement). What cannot be placed is reported as
        a clash and, if it was booked before, cancelled: the schedule no longer has it at the
        old time.
        """
        self.writer.hold(self.tx, [i.row for i in pending if i.row is not None and i.was_active])
        for item in pending:
            blockers = self._write(item)
            if blockers is None:
                continue
            self._clash(item.obs, blockers)
            if item.row is not None and item.was_active:
                self._cancel(item.row, HELD)

    def _write(self, item: _Pending) -> list[ReservationOut] | None:
        """Add or update in a savepoint: ``None`` when written, else what is in the way
        (empty when the database refused a booking made at the same moment)."""
        obs = item.obs
        try:
            with self.session.begin_nested():
                if item.row is None:
                    self.writer.insert(self.tx, self.user, self._booking(obs),
                                       reservation_id=uuid.uuid4().hex, when=self.now)
                    self.summary.added.append(obs.external_id)
                else:
                    status = HELD if item.was_active else item.row.status
                    values = {"start": obs.start, "end": obs.end, "title": obs.title,
                              "note": obs.note, "creator_name": f"{obs.submitter} (via LCO)",
                              "status": "active", "cancelled_at": None}
                    self.writer.change(self.tx, self.user, item.row, values,
                                       changed=item.changed, current_status=status,
                                       when=self.now)
                    self.summary.updated.append(obs.external_id)
        except Conflict as exc:
            return list((exc.details or {}).get("conflicts") or [])
        except (IntegrityError, StaleDataError):
            return []
        return None

    def _booking(self, obs: Observation) -> Booking:
        return Booking(site=self.site, start=obs.start, end=obs.end, title=obs.title,
                       type="project", note=obs.note, project_id=None,
                       creator_id=self.user.username,
                       creator_name=f"{obs.submitter} (via LCO)", origin=ORIGIN,
                       external_id=obs.external_id)

    def _cancel(self, row: Reservation, status: str) -> None:
        self.writer.cancel(self.tx, self.user, row, current_status=status, when=self.now)
        self.summary.cancelled.append(row.external_id or row.id)

    def _clash(self, obs: Observation, blockers: list[ReservationOut]) -> None:
        blocking = [{"id": b.id, "title": b.title, "creator_id": b.creator_id,
                     "origin": b.origin, "start": isoformat(b.start), "end": isoformat(b.end)}
                    for b in blockers]
        self.summary.clashes.append(Clash(external_id=obs.external_id, title=obs.title,
                                          start=obs.start, end=obs.end, blocking=blocking))
        names = "; ".join(f"reservation {b['id']} '{b['title']}' by {b['creator_id']} "
                          f"({b['origin']}, {b['start']}..{b['end']})" for b in blocking) \
            or "a booking made at the same moment"
        message = (f"LCO observation {obs.external_id} '{obs.title}' "
                   f"({isoformat(obs.start)}..{isoformat(obs.end)}) clashes with {names}; "
                   "not imported, the existing booking is kept")
        events = self.importer.events
        event = events.record(
            self.session, self.user, action="ADD", object_type=IMPORT_OBJECT_TYPE,
            object_id=self.site, status="WARNING",
            data={"site": self.site, "clash": True, "observation": as_json(obs),
                  "blocking": blocking}, message=f"schedule import at {self.site}: clash",
        )
        events.note(self.session, event, message, level="warning")

    def _track(self) -> None:
        row = self.session.get(ScheduleImport, self.site)
        if row is None:
            row = ScheduleImport(site=self.site)
            self.session.add(row)
        s = self.summary
        row.source, row.digest, row.observations = s.source, s.digest, s.observations
        row.imported_at = self.now
        row.summary = s.model_dump(mode="json", exclude={"clashes"}) | {
            "clashes": [c.external_id for c in s.clashes]}
        if s.changed:
            self.importer.events.record(
                self.session, self.user, action="MOD", object_type=IMPORT_OBJECT_TYPE,
                object_id=self.site, status="WARNING" if s.clashes else "SUCCESS",
                data=row.summary, message=f"schedule import: {s.line()}",
            )


def _differences(row: Reservation, obs: Observation) -> list[str]:
    pairs = {"start": (row.start, obs.start), "end": (row.end, obs.end),
             "title": (row.title, obs.title), "note": (row.note, obs.note)}
    return [name for name, (old, new) in pairs.items() if old != new]


def _tracked_digest(session: Any, site: str) -> str | None:
    return session.scalar(select(ScheduleImport.digest).where(ScheduleImport.site == site))


def _lock_site(tx: Tx, site: str) -> None:
    """Serialize imports of a site (SQLite writers are serialized already)."""
    stmt = select(Site.code).where(Site.code == site)
    if tx.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    tx.session.execute(stmt)


def _unchanged(summary: ImportSummary) -> ImportSummary:
    summary.schedule_unchanged = True
    summary.unchanged = summary.observations
    return summary


__all__ = ["IMPORT_OBJECT_TYPE", "ORIGIN", "ImportTarget", "LcoImporter"]
