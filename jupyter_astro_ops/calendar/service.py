"""Calendar service: sites and conflict-free telescope reservations.

Rules (fixing what the Photon Ranch original got wrong):

* two *active* reservations at one site never overlap as half-open intervals ``[start, end)``;
  the check runs inside the write transaction (SQLite serializes writers with ``BEGIN
  IMMEDIATE``), and on PostgreSQL the exclusion constraint of ``calendar_0001`` catches races;
* the creator comes from the login only; only the creator or a ``calendar_admin`` may change a
  reservation, with one conditional ``UPDATE`` (optimistic concurrency on ``version``);
* deleting cancels (the row stays for calendar feeds, ``sequence`` grows);
* attaching or detaching a project also needs membership of that project (asked of the
  activity domain's project directory);
* every change goes through ``writes.ReservationWriter`` (the one write path, also used by the
  LCO importer) and records a ``RESERVATION`` activity event in the same transaction.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from traitlets import Dict, Float, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

from ..activity.protocols import ProjectDirectory
from ..core.db import Database, WriterBusy
from ..core.errors import Conflict, Forbidden, NotFound, ValidationError
from ..core.identity import User
from ..core.timeutil import as_utc, utcnow
from . import queries as q
from . import rules as r
from .index import Rendered, WindowIndex
from .models import Reservation, Site
from .schemas import (
    ReservationIn,
    ReservationOut,
    ReservationPatch,
    SiteIn,
    SiteOut,
    ValidateIn,
    ValidateOut,
)
from .writes import (
    LCO_ORIGIN,
    LOCAL_ORIGIN,
    OBJECT_TYPE,
    Booking,
    ReservationWriter,
    Window,
    transaction,
)


class CalendarService(LoggingConfigurable):
    """Calendar business rules; every public method takes the acting ``User``."""

    sites = Dict(
        config=True,
        help="Sites synced into the database at start: {code: {'name': ..., 'timezone': ...}}.",
    )
    min_length_minutes = Float(
        1.0, config=True, help="Shortest reservation accepted, in minutes (must be > 0)."
    )
    max_length_hours = Float(
        168.0, config=True, help="Longest reservation accepted, in hours."
    )
    admin_role = Unicode(
        "calendar_admin", config=True,
        help="Role that may add sites and change or cancel anyone's reservation.",
    )

    def __init__(self, db: Database, projects: ProjectDirectory, writer: ReservationWriter,
                 index: WindowIndex, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db = db
        self.projects = projects
        self.writer = writer
        self.index = index
        self._synced = False
        self._sync_lock = threading.Lock()

    @validate("sites")
    def _valid_sites(self, proposal: Any) -> dict[str, Any]:
        return r.check_site_config(proposal["value"], TraitError)

    # -- sites ---------------------------------------------------------------------------------
    def ensure_sites(self) -> None:
        """Insert or update the configured sites (idempotent; runs once per service, at start;
        each public entry that needs the sites calls it once, a flag check after the first)."""
        if self._synced:
            return
        if not self._sync_lock.acquire(blocking=self.db.may_wait):
            raise WriterBusy("the sites are being written by another thread")
        try:
            if self._synced:
                return
            try:
                self._write_sites()
            except IntegrityError:  # another process (a second worker) inserted one first:
                self._write_sites()  # its row is committed now, so this run updates it
            self._synced = True
        finally:
            self._sync_lock.release()

    def _write_sites(self) -> None:
        with self.db.write() as session:
            q.upsert_sites(session, self.sites)

    def list_sites(self, user: User) -> list[SiteOut]:
        """Every site, by code."""
        self.ensure_sites()
        with self.db.read() as session:
            return [q.site_out(r) for r in session.scalars(select(Site).order_by(Site.code))]

    def get_site(self, user: User, code: str) -> SiteOut:
        """One site."""
        self.ensure_sites()
        with self.db.read() as session:
            return q.site_out(self._site(session, code))

    def add_site(self, user: User, spec: SiteIn) -> SiteOut:
        """Add a site (``calendar_admin``); an existing code is a conflict."""
        user.require_role(self.admin_role, "add sites")
        r.check_timezone(spec.timezone)
        self.ensure_sites()
        with self.db.write() as session:
            if session.get(Site, spec.code) is not None:
                raise Conflict(f"site {spec.code!r} already exists")
            row = Site(code=spec.code, name=spec.name, timezone=spec.timezone, max_span_s=0,
                       created_by=user.username, created=utcnow())
            session.add(row)
            session.flush()
            return q.site_out(row)

    # -- reading -------------------------------------------------------------------------------
    def list_reservations(
        self, user: User, site: str | None, start: datetime, end: datetime,
        include_cancelled: bool = False,
    ) -> list[ReservationOut]:
        """Every reservation overlapping ``[start, end)`` (at ``site``, or at all sites)."""
        start, end = as_utc(start), as_utc(end)
        if end <= start:
            raise ValidationError("end must be after start")
        bodies = None if include_cancelled else self.index.window(site, start, end)
        if bodies is not None:
            return [ReservationOut.model_validate_json(b) for b in bodies]
        return self._sql_window(site, start, end, include_cancelled)

    def reservations_json(
        self, user: User, site: str | None, start: datetime, end: datetime,
        include_cancelled: bool = False,
    ) -> Rendered | list[ReservationOut]:
        """``list_reservations`` for the wire: active reservations come from the in-memory
        index as JSON encoded once per reservation version (SQL answers the rest)."""
        start, end = as_utc(start), as_utc(end)
        if end <= start:
            raise ValidationError("end must be after start")
        bodies = None if include_cancelled else self.index.window(site, start, end)
        if bodies is not None:
            return Rendered(b"[" + b",".join(bodies) + b"]")
        return self._sql_window(site, start, end, include_cancelled)

    def reservations_json_from_memory(
        self, user: User, site: str | None, start: datetime, end: datetime,
        include_cancelled: bool = False,
    ) -> Rendered | None:
        """``reservations_json`` if the index can answer from memory at once (never touches the
        database or waits for a lock, so a handler may call it on the event loop and skip the
        thread hand-off); ``None``: call ``reservations_json``."""
        start, end = as_utc(start), as_utc(end)
        if include_cancelled or end <= start:
            return None
        bodies = self.index.window(site, start, end, blocking=False)
        return None if bodies is None else Rendered(b"[" + b",".join(bodies) + b"]")

    def _sql_window(self, site: str | None, start: datetime, end: datetime,
                    include_cancelled: bool) -> list[ReservationOut]:
        self.ensure_sites()
        with self.db.read() as session:
            if site is None:
                rows = q.overlapping(session, self._spans(session, None), start, end,
                                     active_only=not include_cancelled)
            else:
                rows = self._window(session, site, start, end, active_only=not include_cancelled)
            return [q.to_out(r) for r in rows]

    def get(self, user: User, reservation_id: str) -> ReservationOut:
        """One reservation, cancelled or not."""
        with self.db.read() as session:
            return q.to_out(self._load(session, reservation_id))

    def active_at(self, user: User, site: str, time: datetime) -> list[ReservationOut]:
        """Active reservations at ``site`` with ``start <= time < end``."""
        time = as_utc(time)
        self.ensure_sites()
        with self.db.read() as session:
            rows = self._window(session, site, time, time + timedelta(microseconds=1))
            return [q.to_out(r) for r in rows]

    def user_reservations(
        self, user: User, username: str, ending_after: datetime | None = None
    ) -> list[ReservationOut]:
        """Active reservations created by ``username`` that end after ``ending_after``."""
        after = as_utc(ending_after) if ending_after else utcnow()
        stmt = (select(Reservation)
                .where(Reservation.creator_id == username, Reservation.end > after,
                       Reservation.status == "active")
                .order_by(Reservation.end))
        with self.db.read() as session:
            return [q.to_out(r) for r in session.scalars(stmt)]

    def created_by(self, user: User, username: str, start: datetime, end: datetime
                   ) -> list[ReservationOut]:
        """Every reservation (cancelled too) ``username`` created overlapping ``[start, end)``:
        that user's own, or anyone's for a calendar admin."""
        if username != user.username and not user.has_role(self.admin_role):
            raise Forbidden(f"{user.username} may not list the bookings of {username}")
        stmt = (select(Reservation)
                .where(Reservation.creator_id == username, Reservation.end > start,
                       Reservation.start < end)
                .order_by(Reservation.start, Reservation.id))
        with self.db.read() as session:
            return [q.to_out(r) for r in session.scalars(stmt)]

    def validate(self, user: User, spec: ValidateIn) -> ValidateOut:
        """Would ``spec`` be accepted? Same rules as ``create``, without booking."""
        start, end = self._check_times(spec.start, spec.end)
        self.ensure_sites()
        with self.db.read() as session:
            rows = self._window(session, spec.site, start, end, exclude_id=spec.ignore_id)
            return ValidateOut(ok=not rows, conflicts=[q.to_out(r) for r in rows])

    # -- writing -------------------------------------------------------------------------------
    def create(
        self, user: User, spec: ReservationIn, *, reservation_id: str | None = None,
        origin: str = LOCAL_ORIGIN, external_id: str | None = None,
        owner: tuple[str, str] | None = None,
    ) -> ReservationOut:
        """Book ``spec`` for ``user``; 409 with the reservations in the way on overlap.

        ``origin``/``external_id`` (imports) and ``owner`` (``(username, display name)``, to
        book on someone's behalf) need the ``calendar_admin`` role.
        """
        start, end = self._check_times(spec.start, spec.end)
        if origin != LOCAL_ORIGIN or external_id is not None:
            user.require_role(self.admin_role, "import reservations")
        creator_id, creator_name = owner or (user.username, user.label)
        if creator_id != user.username:
            user.require_role(self.admin_role, "book for another user")
        self.ensure_sites()
        booking = Booking(
            site=spec.site, start=start, end=end, title=spec.title or creator_name,
            type=spec.type, note=spec.note, project_id=spec.project_id, creator_id=creator_id,
            creator_name=creator_name, origin=origin, external_id=external_id)
        with transaction(self.db) as tx:
            # one statement checks the site (404) and the overlap (409, raised by insert
            # after the project check, the order the answers always had)
            probe = self.writer.probe(tx, Window(spec.site, start, end))
            if spec.project_id is not None:
                self._require_member(tx.session, user, spec.project_id)
            return self.writer.insert(tx, user, booking, probe=probe,
                                      reservation_id=reservation_id or uuid.uuid4().hex)

    def modify(
        self, user: User, reservation_id: str, patch: ReservationPatch,
        version: int | None = None,
    ) -> ReservationOut:
        """Apply ``patch`` in one conditional UPDATE (stale ``version`` -> 409)."""
        fields = patch.model_fields_set - {"version"}
        expected = patch.version if patch.version is not None else version
        with transaction(self.db) as tx:
            row = self._load(tx.session, reservation_id)
            self._require_owner(user, row, "change")
            r.require_current(row, expected)
            values = {f: getattr(patch, f) for f in fields if f != "project_id"}
            if None in values.values():
                raise ValidationError(f"{sorted(k for k, v in values.items() if v is None)} "
                                      "may not be null")
            start, end = self._check_times(values.get("start", row.start),
                                           values.get("end", row.end))
            values.update(start=start, end=end)
            if "project_id" in fields and patch.project_id != row.project_id:
                self._require_members(tx.session, user, row.project_id, patch.project_id)
                values["project_id"] = patch.project_id
            self.writer.change(tx, user, row, values, changed=sorted(fields))
            return q.to_out(row)

    def cancel(self, user: User, reservation_id: str, version: int | None = None) -> ReservationOut:
        """Cancel (``DELETE``): the row stays, ``status`` becomes ``cancelled``."""
        with transaction(self.db) as tx:
            row = self._load(tx.session, reservation_id)
            self._require_owner(user, row, "cancel")
            r.require_current(row, version)
            self.writer.cancel(tx, user, row)
            return q.to_out(row)

    def set_project(
        self, user: User, reservation_ids: list[str], project_id: int | None
    ) -> list[ReservationOut]:
        """Attach ``project_id`` to (or, with ``None``, detach from) several reservations."""
        out = []
        with transaction(self.db) as tx:
            for rid in reservation_ids:
                row = self._load(tx.session, rid)
                self._require_owner(user, row, "change the project of")
                if row.project_id != project_id:
                    self._require_members(tx.session, user, row.project_id, project_id)
                    r.require_current(row, None)
                    self.writer.change(tx, user, row, {"project_id": project_id},
                                       changed=["project_id"])
                out.append(q.to_out(row))
        return out

    def cancel_imported_after(
        self, user: User, site: str, cutoff: datetime, origin: str = LCO_ORIGIN
    ) -> list[ReservationOut]:
        """Cancel active imported reservations at ``site`` starting after ``cutoff``."""
        user.require_role(self.admin_role, "clear imported schedules")
        stmt = select(Reservation).where(
            Reservation.site == site, Reservation.origin == origin,
            Reservation.status == "active", Reservation.start > as_utc(cutoff),
        )
        out = []
        self.ensure_sites()
        with transaction(self.db) as tx:
            self._spans(tx.session, site)
            for row in tx.session.scalars(stmt).all():
                self.writer.cancel(tx, user, row)
                out.append(q.to_out(row))
        return out

    # -- projects (asked of the activity domain) -----------------------------------------------
    def project_keys(self, project_ids: set[int]) -> dict[int, tuple[str, datetime]]:
        """``{id: (name, created)}`` of the given projects."""
        return self.projects.names(project_ids)

    def project_id_by_name(self, name: str) -> int:
        """The id of the project called ``name`` (400 if there is none)."""
        return self.projects.id_by_name(name)

    # -- helpers -------------------------------------------------------------------------------
    def _check_times(self, start: datetime, end: datetime) -> tuple[datetime, datetime]:
        return r.check_times(start, end, self.min_length_minutes, self.max_length_hours)

    def _spans(self, session: Session, code: str | None) -> dict[str, int]:
        """``{site: max span}`` for one site (404 if unknown) or for all (``None``)."""
        spans = q.max_spans(session, None if code is None else [code])
        if code is not None and not spans:
            raise NotFound(f"no site {code!r}")
        return spans

    def _window(self, session: Session, site: str, start: datetime, end: datetime,
                **kwargs: Any) -> list[Reservation]:
        """Reservations at ``site`` overlapping ``[start, end)``: one statement, 404 if no site."""
        rows = q.overlapping_one(session, site, start, end, **kwargs)
        if not rows and not q.site_exists(session, site):
            raise NotFound(f"no site {site!r}")
        return rows

    def _site(self, session: Session, code: str) -> Site:
        row = session.get(Site, code)
        if row is None:
            raise NotFound(f"no site {code!r}")
        return row

    def _load(self, session: Session, reservation_id: str) -> Reservation:
        row = session.get(Reservation, reservation_id)
        if row is None:
            raise NotFound(f"no reservation {reservation_id}")
        return row

    def _require_owner(self, user: User, row: Reservation, verb: str) -> None:
        if row.creator_id != user.username and not user.has_role(self.admin_role):
            raise Forbidden(f"only {row.creator_id} or a {self.admin_role} may {verb} "
                            f"reservation {row.id}")

    def _require_members(self, session: Session, user: User, *project_ids: int | None) -> None:
        for pid in project_ids:
            if pid is not None:
                self._require_member(session, user, pid)

    def _require_member(self, session: Session, user: User, project_id: int) -> None:
        if not self.projects.exists(session, project_id):
            raise ValidationError(f"no project {project_id}")
        if not self.projects.is_member(session, user.username, project_id):
            raise Forbidden(f"{user.username} is not a member of project {project_id}")


__all__ = ["OBJECT_TYPE", "CalendarService"]
