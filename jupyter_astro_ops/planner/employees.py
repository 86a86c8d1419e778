"""Employees of the planner: listed by a directory source, edited by planner admins.

``PlannerEmployees`` owns the employee rows (the one write path). A *directory provider*
lists the people; which one is a ``Type`` trait, ``c.PlannerEmployees.directory_class``:
``FileDirectory`` (CSV or JSON on any fsspec URL, ``c.FileDirectory.url``) by default, an
LDAP-like class later. A re-sync (``sync``, at start and every ``sync_interval_seconds`` when
background work runs) is idempotent: unchanged people write nothing; people who left the
listing are deactivated (their entries stay, for history). Changes are ``PLANNER_EMPLOYEE``
activity events with the old and new value. Missing fields take the site defaults below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

import pydantic
from sqlalchemy import select
from sqlalchemy.orm import Session
from traitlets import Bool, Dict, Float, List, Type, Unicode
from traitlets.config import LoggingConfigurable

from ..activity.protocols import EventRecorder
from ..core.db import Database, serialize
from ..core.errors import Conflict, NotFound, ValidationError
from ..core.identity import User
from ..core.lifecycle import BackgroundLoop
from ..core.timeutil import utcnow
from . import queries as q
from . import timing
from .locations import LocationType
from .models import Employee
from .readers import read_rows, split_list
from .rules import PLANNER_ADMIN, require_admin
from .schemas import NO_LOCATION, WEEKDAYS, EmployeeIn, EmployeeOut, EmployeeRecord, SyncResult
from .writes import transaction

OBJECT_TYPE = "PLANNER_EMPLOYEE"
MANUAL = "manual"
FIELDS = ("display_name", "department", "roles", "base_camp", "primary_location",
          "shift_start", "shift_end", "working_days", "timezone", "calendar", "active")


class LocationCatalog(Protocol):
    """What employees need of the planner service: location codes and the site's zone."""

    types: dict[str, LocationType]
    default_timezone: str


class DirectoryProvider(Protocol):
    """A source of employee records (``c.PlannerEmployees.directory_class``)."""

    name: str

    @property
    def configured(self) -> bool: ...

    def records(self) -> tuple[list[EmployeeRecord], list[str]]: ...


class FileDirectory(LoggingConfigurable):
    """Employees from a CSV or JSON file on any fsspec URL.

    Columns: ``username, display_name, department, roles`` (``;``-separated), ``base_camp,
    primary_location, primary_shift`` (``08:00-17:00``), ``working_days`` (``mon,tue,...``),
    ``timezone, calendar, active``; all but the first two may be empty.
    """

    name = "directory"
    url = Unicode("", config=True, help="fsspec URL of the employee listing (CSV or JSON).")
    storage_options = Dict(config=True,
                           help="fsspec storage options for the URL (credentials, endpoint).")

    @property
    def configured(self) -> bool:
        return bool(self.url)

    def records(self) -> tuple[list[EmployeeRecord], list[str]]:
        """The records of the listing, and a line per row that could not be read."""
        rows, _digest = read_rows(self.url, self.storage_options)
        out, problems = [], []
        for number, row in rows:
            try:
                out.append(record_from(row))
            except (pydantic.ValidationError, ValueError) as exc:
                problems.append(f"row {number} ({row.get('username', '?')}): {_first(exc)}")
        return out, problems


def record_from(row: Mapping[str, Any]) -> EmployeeRecord:
    """One listing row -> ``EmployeeRecord`` (raises on malformed values)."""
    if "_invalid" in row:
        raise ValueError(f"not a record: {row['_invalid']}")
    data: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
    if "roles" in data:
        data["roles"] = [r.lower().replace(" ", "_") for r in split_list(data["roles"])]
    if "primary_shift" in data:
        start, _, end = str(data.pop("primary_shift")).partition("-")
        data["shift_start"], data["shift_end"] = start.strip(), end.strip()
    if "working_days" in data:
        data["working_days"] = parse_weekdays(data["working_days"])
    if isinstance(data.get("active"), str):
        data["active"] = data["active"].strip().lower() in ("1", "true", "yes", "y")
    return EmployeeRecord.model_validate(data)


def parse_weekdays(value: Any) -> list[str]:
    """``"mon-fri"``, ``"mon,wed"`` or a list -> ``["mon", ...]``."""
    parts = split_list(value)
    if len(parts) == 1 and "-" in parts[0]:
        first, _, last = parts[0].lower().partition("-")
        i, j = WEEKDAYS.index(first.strip()[:3]), WEEKDAYS.index(last.strip()[:3])
        return list(WEEKDAYS[i:j + 1])
    return [p.lower()[:3] for p in parts]


def _first(exc: Exception) -> str:
    if isinstance(exc, pydantic.ValidationError):
        err = exc.errors(include_url=False)[0]
        return f"{'.'.join(map(str, err['loc'])) or 'row'}: {err['msg']}"
    return str(exc)


class PlannerEmployees(LoggingConfigurable):
    """The employee rows: list, edit (planner admins) and re-sync from the directory."""

    directory_class = Type(FileDirectory, config=True,
                           help="Class of the directory provider that lists the employees.")
    sync_interval_seconds = Float(
        3600.0, config=True, help="Seconds between two directory re-syncs in the server.")
    default_location = Unicode(
        "HQ", config=True,
        help="Primary location of employees whose record names none ('none': no defaults).")
    default_shift = Unicode("08:00-17:00", config=True,
                            help="Primary shift of employees whose record has none.")
    default_working_days = List(Unicode(), ["mon", "tue", "wed", "thu", "fri"], config=True,
                                help="Working days of employees whose record has none.")
    default_calendar = Unicode("main", config=True,
                               help="Holiday calendar of employees whose record names none.")
    username = Unicode("directory", config=True,
                       help="User name recorded as the author of directory re-syncs.")
    enabled = Bool(True, config=True,
                   help="Re-sync periodically when a directory source is configured.")

    def __init__(self, db: Database, events: EventRecorder, catalog: LocationCatalog,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db = db
        self.events = events
        self.catalog = catalog
        self.directory: DirectoryProvider = self.directory_class(parent=self)
        events.register_object_type(OBJECT_TYPE)
        self.loop = BackgroundLoop("astro-ops-planner-directory", self._round,
                                   interval=self.sync_interval_seconds, log=self.log)

    @property
    def periodic(self) -> bool:
        return self.enabled and self.directory.configured

    def identity(self) -> User:
        """The system identity directory re-syncs act as (a planner admin)."""
        return User(self.username, display_name="Employee directory",
                    roles=frozenset({PLANNER_ADMIN}))

    # -- reading -------------------------------------------------------------------------------
    def list_employees(self, user: User, department: str | None = None,
                       include_inactive: bool = False) -> list[EmployeeOut]:
        with self.db.read() as session:
            return [q.employee_out(r) for r in
                    q.employees(session, department, active_only=not include_inactive)]

    def get_employee(self, user: User, username: str) -> EmployeeOut:
        with self.db.read() as session:
            row = session.get(Employee, username)
            if row is None:
                raise NotFound(f"no employee {username!r} in the planner")
            return q.employee_out(row)

    # -- writing -------------------------------------------------------------------------------
    def save_employee(self, user: User, username: str, spec: EmployeeIn,
                      version: int | None = None) -> tuple[EmployeeOut, bool]:
        """Create or replace one employee (planner admins); ``(employee, created)``."""
        require_admin(user, "edit employees")
        values = self.resolve(spec)
        expected = spec.version or version
        with transaction(self.db) as session:
            row = session.get(Employee, username)
            if row is not None and expected is not None and expected != row.version:
                raise Conflict(f"employee {username} is at version {row.version}, not "
                               f"{expected}; reload and retry",
                               details={"current": q.employee_out(row)})
            if row is None and expected is not None:
                raise NotFound(f"no employee {username!r} in the planner")
            created = row is None
            row = self._put(session, user, username, values, row, MANUAL)
            return q.employee_out(row), created

    def sync(self, user: User, now: datetime | None = None) -> SyncResult:
        """Bring the rows in line with the directory, in one transaction (planner admins)."""
        require_admin(user, "re-sync the employee directory")
        if not self.directory.configured:
            raise NotFound("no employee directory is configured (c.FileDirectory.url)")
        records, problems = self.directory.records()
        return self.apply_records(user, records, problems, now)

    def apply_records(self, user: User, records: list[EmployeeRecord],
                      problems: list[str] | None = None,
                      now: datetime | None = None) -> SyncResult:
        """Upsert ``records`` and deactivate the directory's people not among them."""
        require_admin(user, "re-sync the employee directory")
        source = self.directory.name
        result = SyncResult(source=source, listed=len(records), problems=list(problems or []))
        resolved = {}
        for rec in records:
            try:
                resolved[rec.username] = self.resolve(rec)
            except ValidationError as exc:
                result.problems.append(f"{rec.username}: {exc.message}")
        with transaction(self.db) as session:
            serialize(session, "planner-directory")  # one sync at a time, across workers
            rows = {r.username: r for r in session.scalars(select(Employee))}
            for username, values in sorted(resolved.items()):
                row = rows.get(username)
                if row is not None and all(getattr(row, k) == v for k, v in values.items()) \
                        and row.source == source:
                    result.unchanged += 1
                    continue
                (result.added if row is None else result.updated).append(username)
                self._put(session, user, username, values, row, source, now)
            for username, row in sorted(rows.items()):
                if row.source == source and row.active and username not in resolved:
                    self._put(session, user, username, {"active": False}, row, source, now)
                    result.deactivated.append(username)
        return result

    def resolve(self, spec: EmployeeIn) -> dict[str, Any]:
        """Column values of ``spec`` with the site defaults filled in (400 on bad values)."""
        location = spec.primary_location or self.default_location
        if location != NO_LOCATION and location not in self.catalog.types:
            raise ValidationError(f"unknown primary location {location!r}")
        default_start, default_end = timing.shift_minutes(self.default_shift)
        start = timing.minutes(spec.shift_start) if spec.shift_start else default_start
        end = timing.minutes(spec.shift_end) if spec.shift_end else default_end
        if start == end:
            raise ValidationError("the primary shift has zero length")
        zone = spec.timezone or self.catalog.default_timezone
        timing.zone(zone)
        days = spec.working_days if spec.working_days is not None else self.default_working_days
        return {"display_name": spec.display_name, "department": spec.department,
                "roles": sorted(set(spec.roles)), "base_camp": spec.base_camp,
                "primary_location": location, "shift_start": start, "shift_end": end,
                "working_days": q.weekday_mask(days), "timezone": zone,
                "calendar": spec.calendar or self.default_calendar, "active": spec.active}

    def _put(self, session: Session, user: User, username: str, values: dict[str, Any],
             row: Employee | None, source: str, now: datetime | None = None) -> Employee:
        when = now or utcnow()
        old = None if row is None else _value(row)
        if row is None:
            row = Employee(username=username, created=when, source=source, **values)
            session.add(row)
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.source = source
        row.modified = when
        session.flush()
        action = "ADD" if old is None else "MOD"
        what = "deactivated" if old and old["active"] and not row.active else action
        self.events.record(
            session, user, action=action, object_type=OBJECT_TYPE, object_id=username,
            status="SUCCESS", message=f"{what} employee {username} ({row.display_name})",
            data={"old": old, "new": _value(row), "source": source})
        return row

    # -- background ----------------------------------------------------------------------------
    def run_once(self) -> SyncResult | None:
        """One periodic re-sync; a failing source is logged, not fatal."""
        try:
            result = self.sync(self.identity())
        except Exception:
            self.log.exception("employee directory re-sync failed")
            return None
        if result.added or result.updated or result.deactivated:
            self.log.info("employee directory: added %d, updated %d, deactivated %d",
                          len(result.added), len(result.updated), len(result.deactivated))
        return result

    async def _round(self) -> None:
        await asyncio.to_thread(self.run_once)


def _value(row: Employee) -> dict[str, Any]:
    out = {k: getattr(row, k) for k in FIELDS}
    out["roles"] = list(out["roles"] or [])
    out["shift_start"], out["shift_end"] = timing.clock(row.shift_start), timing.clock(
        row.shift_end)
    out["working_days"] = q.weekday_names(row.working_days)
    return out


__all__ = ["OBJECT_TYPE", "DirectoryProvider", "FileDirectory", "LocationCatalog",
           "PlannerEmployees", "parse_weekdays", "record_from"]
