"""``PlannerService``: the planner's rules, shared by REST, dashboard, CLI and notebooks.

What P-Squared lacked, fixed here:

* **authorization**: a user changes their own row; a ``planner_admin`` (``c.AstroOpsApp.roles``;
  ``admin`` implies it) changes anyone's; nobody else (403). Location types carry their own
  self-service rule (``locations``);
* **explicit validation** (``rules``): zero-length blocks, too many blocks, a missing required
  note, a write spanning more than ``max_range_days``: 400; overlapping blocks: 409 naming the
  clash; a stale ``version``: 409;
* **one transaction per write**: a multi-day entry (vacation Mon-Fri) is written for all days
  or for none, through the one write path ``writes.EntryWriter`` with an activity event (old
  and new value) per entry; the employee row is locked on PostgreSQL (SQLite serializes
  writers), so two writers to one person queue up and the overlap check holds;
* **defaults generated on read** (``grid``), never stored; holidays per holiday calendar, from
  config and from a table planner admins edit; **coverage** from stored and imported blocks.

Employees (``employees.PlannerEmployees``) and holidays (``holidays.PlannerHolidays``) are
parts of their own; this service reads the employee rows and asks the holidays part for the
holidays of a window.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session
from traitlets import Bool, Dict, Int, List, TraitError, Unicode, observe, validate
from traitlets.config import LoggingConfigurable

from ..core.db import Database
from ..core.errors import Conflict, Forbidden, NotFound, ValidationError
from ..core.identity import User
from ..core.readcache import ChangeClock, ReadCache, Rendered, render
from ..core.timeutil import utcnow
from . import queries as q
from . import rules, timing
from .coverage import (
    DEFAULT_RULES,
    CoverageRule,
    check_coverage,
    parse_rules,
    relevant_locations,
)
from .grid import GridBuilder, Person, build_grid, where_is
from .locations import DEFAULT_LOCATION_TYPES, LocationType, parse_location_types
from .models import Employee, Entry
from .schemas import (
    WEEKDAYS,
    CoverageOut,
    EntryIn,
    EntryOut,
    EntryPatch,
    GridOut,
    LocationTypeOut,
    PlannerSettings,
    WhereIsOut,
)
from .writes import HAND, TRANSPORT, EntryWriter, NewEntry, blocks_of, transaction

PLANNER_ADMIN = rules.PLANNER_ADMIN


class HolidayLookup(Protocol):
    """What the service needs of the holidays part."""

    def holiday_map(self, session: Session, first: date, last: date
                    ) -> dict[tuple[str, date], str]: ...


class PlannerService(LoggingConfigurable):
    """Planner rules; every public method takes the acting ``User`` first."""

    location_types = Dict(
        DEFAULT_LOCATION_TYPES, config=True,
        help=("Location types: {code: {'label', 'colour': '#rrggbb', 'kind': 'place'|'leave'|"
              "'duty', 'note_required': bool, 'self_service': [roles] or ['*']}}. "
              "self_service lists the roles that may put the type on their own row."))
    max_blocks_per_day = Int(2, config=True,
                             help="Most location blocks one person may hold on one day.")
    max_range_days = Int(31, config=True,
                         help="Longest date range one write may span, in days.")
    max_read_days = Int(100, config=True,
                        help="Longest date range one read (grid, entries, coverage) may span.")
    default_timezone = Unicode(
        "Pacific/Honolulu", config=True,
        help="The site's IANA time zone: employees without one, and coverage windows.")
    coverage_rules = List(
        Dict(), DEFAULT_RULES, config=True,
        help=("Coverage rules: [{'name', 'role', 'locations': [codes], 'days': 'every'|"
              "'weekdays'|'weekends'|[mon..sun], 'when': 'night'|'day', 'minimum': n}]."))
    night_hours = Unicode("18:00-06:00", config=True,
                          help="The night window of coverage rules, site local time.")
    day_hours = Unicode("08:00-17:00", config=True,
                        help="The day window of coverage rules, site local time.")
    swaps_need_approval = Bool(
        False, config=True,
        help="Whether an accepted swap also needs a planner admin's approval.")

    read_cache_size = Int(
        32, config=True,
        help=("How many rendered grid and coverage answers to keep until the next change "
              "(0: render every read)."))

    def __init__(self, db: Database, writer: EntryWriter, holidays: HolidayLookup,
                 clock: ChangeClock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db = db
        self.writer = writer
        self.holidays = holidays
        self.cache = ReadCache(clock, self.read_cache_size)
        self.types: dict[str, LocationType] = parse_location_types(self.location_types)
        self.rules: list[CoverageRule] = self._parse_rules()

    # -- configuration -------------------------------------------------------------------------
    @validate("location_types")
    def _valid_types(self, proposal: Any) -> dict[str, Any]:
        try:
            parse_location_types(proposal["value"])
        except ValueError as exc:
            raise TraitError(f"PlannerService.location_types: {exc}") from exc
        return dict(proposal["value"])

    @validate("default_timezone")
    def _valid_zone(self, proposal: Any) -> str:
        try:
            timing.zone(proposal["value"])
        except ValidationError as exc:
            raise TraitError(f"PlannerService.default_timezone: {exc.message}") from exc
        return str(proposal["value"])

    @observe("location_types", "coverage_rules", "night_hours", "day_hours")
    def _reparse(self, _change: Any) -> None:
        self.types = parse_location_types(self.location_types)
        self.rules = self._parse_rules()

    def _parse_rules(self) -> list[CoverageRule]:
        try:
            return parse_rules(self.coverage_rules, parse_location_types(self.location_types),
                               self.night_hours, self.day_hours)
        except (ValueError, ValidationError) as exc:
            raise TraitError(f"PlannerService.coverage_rules: {exc}") from exc

    def is_admin(self, user: User) -> bool:
        """Whether ``user`` is a planner admin (``admin`` implies it)."""
        return user.has_role(PLANNER_ADMIN)

    def location_list(self, user: User) -> list[LocationTypeOut]:
        """The location types, each saying whether ``user`` may set it on their own row."""
        roles = self.roles_of(user)
        admin = self.is_admin(user)
        return [t.out(admin or t.settable_by(roles)) for t in self.types.values()]

    def settings(self, user: User) -> PlannerSettings:
        """Location types (with what ``user`` may set), rules and limits."""
        with self.db.read() as session:
            employee = session.get(Employee, user.username) is not None
        return PlannerSettings(
            locations=self.location_list(user), coverage_rules=[r.out() for r in self.rules],
            max_blocks_per_day=self.max_blocks_per_day, max_range_days=self.max_range_days,
            max_read_days=self.max_read_days, site_timezone=self.default_timezone,
            swaps_need_approval=self.swaps_need_approval, admin=self.is_admin(user),
            employee=employee)

    def roles_of(self, user: User) -> set[str]:
        """The user's Jupyter roles and their directory roles (self-service rules use both)."""
        with self.db.read() as session:
            row = session.get(Employee, user.username)
            return set(user.roles) | set(row.roles or [] if row is not None else [])

    # -- entries: writing ----------------------------------------------------------------------
    def create_entries(self, user: User, spec: EntryIn,
                       when: datetime | None = None) -> list[EntryOut]:
        """Write the same blocks on every chosen day of the range: all days or none."""
        username = spec.username or user.username
        self.require_writer(user, username)
        chosen = self._days(spec)
        with transaction(self.db) as session:
            emp = self.employee_row(session, username, lock=True)
            if not emp.active:
                raise ValidationError(f"{username} is not an active employee")
            if not self.is_admin(user):
                rules.check_settable(set(user.roles) | set(emp.roles or []),
                                     {b.location for b in spec.blocks}, self.types,
                                     user.username)
            taken = q.hand_entries(session, username, chosen)
            if taken:
                day = min(taken)
                raise Conflict(f"{username} already has an entry on {day.isoformat()} "
                               f"(entry {taken[day].id}); change it instead",
                               details={"entry_id": taken[day].id, "day": day.isoformat()})
            others = q.person_spans(session, username, chosen[0] - timedelta(days=1),
                                    chosen[-1] + timedelta(days=1))
            transport = {k: getattr(spec, k) for k in TRANSPORT}
            rows = []
            for day in chosen:
                spans = rules.spans_of(day, spec.blocks, emp.timezone, self.types, spec.note)
                rules.check_count(day, spans, others, self.max_blocks_per_day)
                rules.check_overlaps(spans, others)
                row = self.writer.insert(session, user, NewEntry(
                    username=username, day=day, timezone=emp.timezone, spans=spans,
                    entered_by=user.username, note=spec.note, transport=transport), when)
                others.extend(rules.Span(s.location, s.start, s.end, row.id, HAND, day,
                                         emp.timezone) for s in spans)
                rows.append(row)
            return [self._out(session, row) for row in rows]

    def modify_entry(self, user: User, entry_id: str, patch: EntryPatch,
                     version: int | None = None, when: datetime | None = None) -> EntryOut:
        """Change an entry in one compare-and-set UPDATE (stale ``version`` -> 409)."""
        fields = patch.model_fields_set - {"version", "blocks"}
        # a JSON merge patch: ``null`` resets a field to what a new entry has
        values = {f: EntryIn.model_fields[f].default if getattr(patch, f) is None
                  else getattr(patch, f) for f in fields}
        with transaction(self.db) as session:
            row = self._live(session, entry_id)
            self.require_writer(user, row.username)
            self.require_version(session, row, patch.version or version)
            emp = self.employee_row(session, row.username, lock=True)
            note = values.get("note", row.note)
            current = blocks_of(session, row.id)
            spans = None
            if patch.blocks is not None:
                spans = rules.spans_of(row.day, patch.blocks, row.timezone, self.types, note)
                if not self.is_admin(user):
                    new_codes = {s.location for s in spans} - {b.location for b in current}
                    rules.check_settable(set(user.roles) | set(emp.roles or []), new_codes,
                                         self.types, user.username)
                others = q.person_spans(session, row.username, row.day - timedelta(days=1),
                                        row.day + timedelta(days=1), exclude=[row.id])
                rules.check_count(row.day, spans, others, self.max_blocks_per_day)
                rules.check_overlaps(spans, others)
            elif not note.strip():
                for block in current:
                    kind = self.types.get(block.location)
                    if kind is not None and kind.note_required:
                        raise ValidationError(f"{kind.label} ({kind.code}) needs a note")
            if row.origin != HAND:
                values["origin"] = HAND  # taken over by hand: imports never overwrite it
            self.writer.change(session, user, row, values, spans, when)
            return self._out(session, row)

    def delete_entry(self, user: User, entry_id: str, version: int | None = None,
                     when: datetime | None = None) -> EntryOut:
        """Soft-delete an entry (the day falls back to its default, if any)."""
        with transaction(self.db) as session:
            row = self._live(session, entry_id)
            self.require_writer(user, row.username)
            self.require_version(session, row, version)
            self.employee_row(session, row.username, lock=True)
            values = {"origin": HAND} if row.origin != HAND else {}
            self.writer.delete(session, user, row, when, values)
            return self._out(session, row)

    # -- entries: reading ----------------------------------------------------------------------
    def get_entry(self, user: User, entry_id: str) -> EntryOut:
        with self.db.read() as session:
            row = session.get(Entry, entry_id)
            if row is None:
                raise NotFound(f"no planner entry {entry_id}")
            return self._out(session, row)

    def list_entries(self, user: User, start: date, end: date | None = None,
                     username: str | None = None, department: str | None = None
                     ) -> list[EntryOut]:
        """Stored entries (hand and imported, no defaults) of ``[start, end]``."""
        first, last = self.read_range(start, end)
        with self.db.read() as session:
            names = self._names(session, username, department)
            return q.entries(session, first, last, names)

    def entries_json(self, user: User, start: date, end: date | None = None,
                     username: str | None = None, department: str | None = None
                     ) -> Rendered:
        """``list_entries`` rendered to JSON without building models (``GET entries``)."""
        first, last = self.read_range(start, end)
        with self.db.read() as session:
            names = self._names(session, username, department)
            return render(q.entry_rows(session, first, last, names))

    def grid(self, user: User, start: date, end: date | None = None,
             department: str | None = None, location: str | None = None,
             role: str | None = None, username: str | None = None) -> GridOut:
        """The resolved grid: one row per active employee, one cell per day."""
        return GridOut.model_validate(self._grid(start, end, department, location, role,
                                                 username))

    def grid_json(self, user: User, start: date, end: date | None = None,
                  department: str | None = None, location: str | None = None,
                  role: str | None = None, username: str | None = None) -> Rendered:
        """``grid`` rendered to JSON, cached until the next change (``GET planner/grid``)."""
        args = (start, end, department, location, role, username)
        return self.cache.get(("grid", *args), partial(self._grid, *args))

    def _grid(self, start: date, end: date | None, department: str | None,
              location: str | None, role: str | None, username: str | None) -> dict[str, Any]:
        first, last = self.read_range(start, end)
        if location is not None and location not in self.types:
            raise ValidationError(f"unknown location {location!r}")
        with self.db.read() as session:
            people = [Person.of(r) for r in q.employees(session, department, role=role)
                      if username is None or r.username == username]
            names = None if department is None and role is None and username is None \
                else [p.username for p in people]
            blocks = q.stored_blocks(session, first, last, names)
            holidays = self.holidays.holiday_map(session, first, last)
        builder = GridBuilder(self.types, holidays)
        return build_grid(people, first, last, blocks, builder, location)

    def whereis(self, user: User, username: str | None = None,
                at: datetime | None = None) -> WhereIsOut:
        """Where ``username`` (default: you) is at ``at`` (default: now)."""
        at = at or utcnow()
        name = username or user.username
        with self.db.read() as session:
            person = Person.of(self.employee_row(session, name))
            tz = timing.zone(person.timezone)
            today = timing.local_day(at, tz)
            yesterday = today - timedelta(days=1)
            blocks = q.stored_blocks(session, yesterday, today, [name])
            holidays = self.holidays.holiday_map(session, yesterday, today)
        return where_is(person, at, today, blocks, GridBuilder(self.types, holidays))

    def coverage(self, user: User, start: date, end: date | None = None) -> CoverageOut:
        """Every coverage rule x day of ``[start, end]``: required, covered, who, gap."""
        first, last = self.read_range(start, end)
        with self.db.read() as session:
            people = {r.username: Person.of(r) for r in q.employees(session)}
            blocks = q.stored_blocks(session, first - timedelta(days=1),
                                     last + timedelta(days=1),
                                     locations=relevant_locations(self.rules, self.types))
        return check_coverage(self.rules, people, blocks, self.types, first, last,
                              self.default_timezone)

    def coverage_json(self, user: User, start: date, end: date | None = None) -> Rendered:
        """``coverage`` rendered to JSON, cached until the next change."""
        return self.cache.get(("coverage", start, end), partial(self.coverage, user, start, end))

    # -- shared helpers (also used by the importer, the swaps and the feeds) -------------------
    def require_writer(self, user: User, username: str) -> None:
        """403 unless ``user`` is ``username`` or a planner admin."""
        if username != user.username and not self.is_admin(user):
            raise Forbidden(f"{user.username} may not change the planner row of {username} "
                            f"(only {username} or a {PLANNER_ADMIN})")

    def require_version(self, session: Session, row: Entry, expected: int | None) -> None:
        if expected is not None and expected != row.version:
            raise Conflict(f"entry {row.id} is at version {row.version}, not {expected}; "
                           "reload and retry", details={"current": self._out(session, row)})

    def employee_row(self, session: Session, username: str, lock: bool = False) -> Employee:
        """The employee (404 if unknown); ``lock`` serializes writers to one person on
        PostgreSQL (``SELECT ... FOR UPDATE``)."""
        stmt = select(Employee).where(Employee.username == username)
        if lock and session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = session.scalars(stmt).first()
        if row is None:
            raise NotFound(f"no employee {username!r} in the planner")
        return row

    def read_range(self, start: date, end: date | None) -> tuple[date, date]:
        last = end or start
        if last < start:
            raise ValidationError("end must not be before start")
        if (last - start).days + 1 > self.max_read_days:
            raise ValidationError(f"a read spans at most {self.max_read_days} days")
        return start, last

    def _days(self, spec: EntryIn) -> list[date]:
        weekdays = None if spec.weekdays is None else {WEEKDAYS.index(d) for d in spec.weekdays}
        return timing.chosen_days(spec.start_date, spec.end_date or spec.start_date, weekdays,
                                  self.max_range_days)

    def _live(self, session: Session, entry_id: str) -> Entry:
        row = session.get(Entry, entry_id)
        if row is None or row.deleted:
            raise NotFound(f"no planner entry {entry_id}")
        return row

    def _names(self, session: Session, username: str | None, department: str | None
               ) -> list[str] | None:
        if department is None:
            return None if username is None else [username]
        names = [r.username for r in q.employees(session, department, active_only=False)]
        return [n for n in names if username is None or n == username]

    def _out(self, session: Session, row: Entry) -> EntryOut:
        return q.entry_out(row, [(b.location, b.start, b.end) for b in blocks_of(session, row.id)])


__all__ = ["PLANNER_ADMIN", "HolidayLookup", "PlannerService"]
