"""Importing an external (LCO-portal-shaped) schedule into a site's calendar.

What Photon Ranch's ``import-schedules`` + ``remove-expired-lco-schedule`` did, made safe:

* imported reservations carry origin ``lco`` and the observation id as ``external_id``;
* the last schedule imported per site is tracked (``ScheduleImport``: source + digest), so a
  re-run of the same schedule reads but writes nothing: no rows, no activity events;
* a newer schedule replaces the *future* imported reservations: changed ones are updated in
  place (same id, ``SEQUENCE`` grows, so iCal clients move them), vanished ones are cancelled,
  new ones added; anything that has already started is left alone;
* every write goes through the calendar's no-overlap rule inside ONE write transaction (the
  site row is locked, so concurrent importers of a site queue up); a clash with a local booking
  is never overwritten: the observation is skipped and a WARNING activity event names both.

``import_schedule`` is the one-shot entry (CLI, tests); ``ScheduleImporter`` holds the config
of periodic imports and ``run_periodic`` / ``start_periodic`` run them in the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from traitlets import Bool, Dict, Float, Unicode
from traitlets.config import LoggingConfigurable

from ..core.errors import NotFound
from ..core.identity import User
from ..core.timeutil import isoformat, utcnow
from . import queries as q
from .feeds.lco import Observation, Schedule, as_json, parse_schedule, read_source
from .feeds.models import ScheduleImport
from .feeds.schemas import Clash, ImportStatus, ImportSummary
from .models import Reservation, Site

if TYPE_CHECKING:
    from .service import CalendarService

ORIGIN = "lco"
RESERVATION = "RESERVATION"
IMPORT_OBJECT_TYPE = "SCHEDULE_IMPORT"


class _Pending:
    """An observation to add (``row`` is None) or an imported booking to update."""

    def __init__(self, obs: Observation, row: Reservation | None) -> None:
        self.obs, self.row = obs, row
        self.was_active = row is not None and row.status == "active"
        self.changed = [] if row is None else _differences(row, obs) + (
            [] if self.was_active else ["status"])


class _DryRun(Exception):
    """Raised inside the write transaction to roll a dry run back."""


# -- entry points ------------------------------------------------------------------------------
def importer_user(service: CalendarService, username: str = "importer") -> User:
    """The system identity imports act as (holds the calendar admin role)."""
    return User(username, display_name="Schedule importer",
                roles=frozenset({service.admin_role}))


def import_schedule(
    service: CalendarService, user: User, site: str, source: str, *,
    storage_options: Mapping[str, Any] | None = None, filters: Mapping[str, Any] | None = None,
    dry_run: bool = False, force: bool = False, now: datetime | None = None,
) -> ImportSummary:
    """Read ``source`` (any fsspec URL) and bring ``site``'s imported reservations in line."""
    user.require_role(service.admin_role, "import schedules")
    schedule = parse_schedule(read_source(source, storage_options), filters)
    return apply_schedule(service, user, site, schedule, source=source, dry_run=dry_run,
                          force=force, now=now)


def apply_schedule(
    service: CalendarService, user: User, site: str, schedule: Schedule, *, source: str,
    dry_run: bool = False, force: bool = False, now: datetime | None = None,
) -> ImportSummary:
    """Apply a parsed schedule in one write transaction (rolled back for a dry run)."""
    user.require_role(service.admin_role, "import schedules")
    service.activity.register_object_type(IMPORT_OBJECT_TYPE)
    service.ensure_sites()
    now = now or utcnow()
    summary = ImportSummary(site=site, source=source, digest=schedule.digest, dry_run=dry_run,
                            observations=len(schedule.observations), invalid=schedule.invalid)
    with service.db.read() as session:
        if session.get(Site, site) is None:
            raise NotFound(f"no site {site!r}")
        if not force and _tracked_digest(session, site) == summary.digest:
            return _unchanged(summary)
    try:
        with service.db.write() as session:
            _lock_site(session, site)
            if not force and _tracked_digest(session, site) == summary.digest:
                return _unchanged(summary)  # another importer got there first
            _Run(service, session, user, site, now, summary).run(schedule.observations)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return summary


def import_status(service: CalendarService, user: User) -> list[ImportStatus]:
    """The last import of every site that has one (any logged-in user may look)."""
    with service.db.read() as session:
        rows = session.scalars(select(ScheduleImport).order_by(ScheduleImport.site))
        return [ImportStatus(site=r.site, source=r.source, digest=r.digest,
                             observations=r.observations, imported_at=r.imported_at,
                             summary=r.summary or {}) for r in rows]


# -- the import itself ---------------------------------------------------------------------------
class _Run:
    """One import inside one write transaction."""

    def __init__(self, service: CalendarService, session: Session, user: User, site: str,
                 now: datetime, summary: ImportSummary) -> None:
        self.service, self.session, self.user = service, session, user
        self.site, self.now, self.summary = site, now, summary

    def run(self, observations: list[Observation]) -> None:
        rows = {r.external_id: r for r in self.session.scalars(
            select(Reservation).where(Reservation.site == self.site,
                                      Reservation.origin == ORIGIN))}
        wanted = {o.external_id for o in observations}
        for ext, gone in sorted(rows.items(), key=lambda kv: kv[1].start):
            if ext not in wanted and gone.status == "active" and gone.start >= self.now:
                self._cancel(gone)
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
        """Park the imported rows that move, then place every observation in start order.

        Parking (status ``cancelled`` inside this transaction) lets imported bookings trade
        slots, even in a cycle, without ever overlapping (the PostgreSQL exclusion constraint
        is checked per statement). What cannot be placed is reported as a clash and, if it was
        booked before, stays cancelled: the schedule no longer has it at the old time.
        """
        for item in pending:
            if item.row is not None and item.was_active:
                item.row.status = "cancelled"
        self.session.flush()
        for item in pending:
            exclude = item.row.id if item.row is not None else None
            blockers = q.overlapping(self.session, [self.site], item.obs.start, item.obs.end,
                                     exclude_id=exclude)
            if not blockers and self._write(item):
                continue
            self._clash(item.obs, blockers)
            if item.row is not None and item.was_active:
                item.row.status = "active"  # the real cancellation, with its event
                self._cancel(item.row)

    def _write(self, item: _Pending) -> bool:
        """Add or update in a savepoint; ``False`` if the database refused (a racing booking)."""
        try:
            with self.session.begin_nested():
                if item.row is None:
                    row = self._add(item.obs)
                    action, changed = "ADD", ["*"]
                else:
                    row = item.row
                    changed = self._update(item)
                    action = "MOD"
                q.widen_span(self.session, self.site, item.obs.start, item.obs.end)
                self.session.flush()
        except (IntegrityError, StaleDataError):
            return False
        done = self.summary.added if action == "ADD" else self.summary.updated
        done.append(item.obs.external_id)
        self._record(action, row, changed=changed)
        return True

    def _add(self, obs: Observation) -> Reservation:
        row = Reservation(
            id=uuid.uuid4().hex, site=self.site, start=obs.start, end=obs.end, title=obs.title,
            type="project", origin=ORIGIN, external_id=obs.external_id,
            creator_id=self.user.username, creator_name=f"{obs.submitter} (via LCO)",
            project_id=None, note=obs.note, status="active", sequence=0, created=self.now,
            modified=self.now, cancelled_at=None,
        )
        self.session.add(row)
        return row

    def _update(self, item: _Pending) -> list[str]:
        row, obs = item.row, item.obs
        assert row is not None
        changed = item.changed
        row.start, row.end, row.title, row.note = obs.start, obs.end, obs.title, obs.note
        row.creator_name = f"{obs.submitter} (via LCO)"
        row.status, row.cancelled_at = "active", None
        row.sequence += 1
        row.modified = self.now
        return changed

    def _cancel(self, row: Reservation) -> None:
        row.status, row.cancelled_at = "cancelled", self.now
        row.sequence += 1
        row.modified = self.now
        self.session.flush()
        self.summary.cancelled.append(row.external_id or row.id)
        self._record("DEL", row)

    def _record(self, action: str, row: Reservation, **extra: Any) -> None:
        data = {"site": row.site, "start": isoformat(row.start), "end": isoformat(row.end),
                "title": row.title, "status": row.status, "sequence": row.sequence,
                "origin": row.origin, "external_id": row.external_id, **extra}
        self.service.activity.record(
            self.session, self.user, action=action, object_type=RESERVATION, object_id=row.id,
            data=data, status="SUCCESS", project_id=row.project_id,
            message=f"{action} imported reservation {row.site} {data['start']}..{data['end']}",
        )

    def _clash(self, obs: Observation, blockers: list[Reservation]) -> None:
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
        event = self.service.activity.record(
            self.session, self.user, action="ADD", object_type=IMPORT_OBJECT_TYPE,
            object_id=self.site, status="WARNING",
            data={"site": self.site, "clash": True, "observation": as_json(obs),
                  "blocking": blocking}, message=f"schedule import at {self.site}: clash",
        )
        self.service.activity.note(self.session, event, message, level="warning")

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
            self.service.activity.record(
                self.session, self.user, action="MOD", object_type=IMPORT_OBJECT_TYPE,
                object_id=self.site, status="WARNING" if s.clashes else "SUCCESS",
                data=row.summary, message=f"schedule import: {s.line()}",
            )


def _differences(row: Reservation, obs: Observation) -> list[str]:
    pairs = {"start": (row.start, obs.start), "end": (row.end, obs.end),
             "title": (row.title, obs.title), "note": (row.note, obs.note)}
    return [name for name, (old, new) in pairs.items() if old != new]


def _tracked_digest(session: Session, site: str) -> str | None:
    return session.scalar(select(ScheduleImport.digest).where(ScheduleImport.site == site))


def _lock_site(session: Session, site: str) -> None:
    """Serialize imports of a site (SQLite writers are serialized already)."""
    stmt = select(Site.code).where(Site.code == site)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    session.execute(stmt)


def _unchanged(summary: ImportSummary) -> ImportSummary:
    summary.schedule_unchanged = True
    summary.unchanged = summary.observations
    return summary


# -- periodic imports ------------------------------------------------------------------------------
class ScheduleImporter(LoggingConfigurable):
    """Configuration of periodic schedule imports (``c.ScheduleImporter.*``)."""

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

    def run_site(self, service: CalendarService, user: User, site: str, *,
                 dry_run: bool = False, force: bool = False) -> ImportSummary:
        """Import ``site``'s configured source now (``user`` must be a calendar admin).

        Only configured sources can be run this way, so no caller can make the server read
        an arbitrary URL; the writes are attributed to the importer identity.
        """
        user.require_role(service.admin_role, "import schedules")
        source = self.sources.get(site)
        if not source:
            raise NotFound(f"no schedule source configured for site {site!r}")
        return import_schedule(
            service, importer_user(service, self.username), site, source,
            storage_options=self.storage_options, filters=self.filters.get(site),
            dry_run=dry_run, force=force)

    def run_once(self, service: CalendarService, now: datetime | None = None
                 ) -> list[ImportSummary]:
        """Import every configured source once; a failing source is logged, not fatal."""
        user = importer_user(service, self.username)
        done = []
        for site, source in sorted(self.sources.items()):
            try:
                summary = import_schedule(
                    service, user, site, source, storage_options=self.storage_options,
                    filters=self.filters.get(site), now=now)
            except Exception:
                self.log.exception("schedule import of %s from %s failed", site, source)
                continue
            if summary.changed:
                self.log.info("schedule import %s", summary.line())
            done.append(summary)
        return done


async def run_periodic(
    service: CalendarService, importer: ScheduleImporter | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Import every ``interval_seconds`` until ``stop`` is set (or the task is cancelled)."""
    importer = importer or ScheduleImporter(parent=service)
    stop = stop or asyncio.Event()
    while not stop.is_set():
        await asyncio.to_thread(importer.run_once, service)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=importer.interval_seconds)


def start_periodic(service: CalendarService) -> asyncio.Task[None] | None:
    """From ``CalendarService.start()``: the import task, or ``None`` when not configured."""
    importer = ScheduleImporter(parent=service)
    if not importer.enabled or not importer.sources:
        return None
    return asyncio.create_task(run_periodic(service, importer), name="calendar-schedule-import")


async def stop_periodic(task: asyncio.Task[None] | None) -> None:
    """From ``CalendarService.stop()``: cancel the task started by ``start_periodic``."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
