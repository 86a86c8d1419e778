"""The night-table and leave imports (``c.PlannerImporter.*``): typed, idempotent, observable.

What P-Squared's cron scripts did ("re-run the cron" was the troubleshooting guide), made safe:

* every imported block is keyed by ``(source, date, key)`` (the role for the night table, the
  request for leave) and remembers a digest of what the file said, so re-running the same file
  changes nothing and a changed night updates exactly that entry (same id, new version);
* entries written by hand are never overwritten: an import block in the way of a person's
  block is not written and a ``WARNING`` activity event names both; an imported entry a person
  changed, deleted or swapped is theirs from then on (the import reports when the file
  disagrees with it, once);
* the night table removes its duties that vanished from the dates it covers; cancelled (or
  otherwise no longer approved) leave removes the entries it created; days already past are
  left alone;
* unknown people, roles, leave types and malformed rows are reported in the result and in a
  ``WARNING`` event, never a crash; the whole import is ONE write transaction (a failure half
  way leaves nothing behind; ``dry_run`` rolls it back on purpose).

Runs from the CLI (``jupyter astro-ops planner import night|leave --source URL``), from REST
(``POST planner/imports/<name>``, configured sources only) and every ``interval_seconds`` in
the server (``loop``). Every write goes through ``writes.EntryWriter``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from traitlets import Bool, Dict, Float, Unicode
from traitlets.config import LoggingConfigurable

from ..activity.protocols import EventRecorder
from ..core.db import Database, serialize
from ..core.errors import NotFound, ValidationError
from ..core.identity import User
from ..core.lifecycle import BackgroundLoop
from ..core.timeutil import utcnow
from . import queries as q
from . import rules, timing
from .grid import Person
from .import_rows import Parsed, Want, parse_leave, parse_night
from .import_schemas import ImportClash, ImportResult, PlannerImportStatus
from .locations import LocationType
from .models import Employee, Entry, ImportRun
from .readers import read_rows
from .rules import PLANNER_ADMIN, Span
from .writes import EntryWriter, NewEntry, transaction

OBJECT_TYPE = "PLANNER_IMPORT"
NAMES = ("night", "leave")
DEFAULT_NIGHT_ROLES = {
    "night_attendant": {"location": "SUNight", "start": "18:00", "end": "06:00"},
    "observing_assistant": {"location": "SUNight", "start": "17:30", "end": "06:30"},
    "staff_astronomer": {"location": "NgtSup", "start": "18:00", "end": "06:00"},
}
DEFAULT_ALIASES = {"na": "night_attendant", "oa": "observing_assistant",
                   "sa": "staff_astronomer"}
DEFAULT_LEAVE_TYPES = {"vacation": "Vacation", "annual_leave": "Vacation", "sick": "Sick",
                       "sick_leave": "Sick", "family_sick": "FamilySick",
                       "jury_duty": "JuryDuty"}


class ImportTarget(Protocol):
    """What the importer needs of the planner service."""

    types: dict[str, LocationType]
    max_blocks_per_day: int
    max_range_days: int


class _DryRun(Exception):
    """Raised inside the write transaction to roll a dry run back."""


class PlannerImporter(LoggingConfigurable):
    """Imports the night table and leave: by hand (``run``, ``run_configured``) or periodically."""

    sources = Dict(
        key_trait=Unicode(), value_trait=Unicode(), config=True,
        help=("Import name ('night' or 'leave') -> fsspec URL of its CSV or JSON file, e.g. "
              "{'night': 's3://ops/night-table.csv'}. Empty: no periodic import."))
    interval_seconds = Float(900.0, config=True,
                             help="Seconds between two runs of every configured import.")
    storage_options = Dict(config=True,
                           help="fsspec storage options for every source (credentials, ...).")
    night_roles = Dict(
        DEFAULT_NIGHT_ROLES, config=True,
        help=("Night-table role -> {'location': code, 'start': 'HH:MM', 'end': 'HH:MM'}: "
              "the duty block each role gets (its hours are the person's local time)."))
    role_aliases = Dict(DEFAULT_ALIASES, config=True,
                        help="Other names of night-table roles -> the role ('oa' -> ...).")
    leave_types = Dict(
        DEFAULT_LEAVE_TYPES, config=True,
        help=("Leave type of the leave file -> location code of kind 'leave' (codes of kind "
              "leave are accepted as they are)."))
    strict = Bool(False, config=True,
                  help=("Refuse a whole file that has any problem row (otherwise the good rows "
                        "are applied and the problems reported)."))
    username = Unicode("importer", config=True,
                       help="User name recorded as the author of imported entries.")
    enabled = Bool(True, config=True, help="Run the periodic import when sources are set.")

    def __init__(self, db: Database, events: EventRecorder, planner: ImportTarget,
                 writer: EntryWriter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db = db
        self.events = events
        self.planner = planner
        self.writer = writer
        events.register_object_type(OBJECT_TYPE)
        self.loop = BackgroundLoop("astro-ops-planner-import", self._round,
                                   interval=self.interval_seconds, log=self.log)

    @property
    def periodic(self) -> bool:
        return self.enabled and bool(self.sources)

    def identity(self) -> User:
        """The system identity imports act as (a planner admin)."""
        return User(self.username, display_name="Planner importer",
                    roles=frozenset({PLANNER_ADMIN}))

    # -- entry points --------------------------------------------------------------------------
    def run(self, user: User, name: str, source: str, *, dry_run: bool = False,
            force: bool = False, now: datetime | None = None) -> ImportResult:
        """Import ``source`` (any fsspec URL) as the ``name`` import (planner admins)."""
        user.require_role(PLANNER_ADMIN, "run planner imports")
        if name not in NAMES:
            raise NotFound(f"no planner import {name!r} (known: {', '.join(NAMES)})")
        rows, digest = read_rows(source, self.storage_options)
        now = now or utcnow()
        result = ImportResult(name=name, source=source, digest=digest, dry_run=dry_run,
                              rows=len(rows))
        with self.db.read() as session:
            run = session.get(ImportRun, name)
            # a file whose last run had problem rows (say, people the directory did not
            # know yet) is applied again: those rows may be good now
            if (not force and run is not None and (run.source, run.digest) == (source, digest)
                    and not (run.summary or {}).get("problems")):
                result.file_unchanged = True
                return result
        try:
            with transaction(self.db) as session:
                serialize(session, f"planner-import:{name}")  # one worker at a time
                _Run(self, session, user, name, now, result).apply(rows)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        return result

    def run_configured(self, user: User, name: str, *, dry_run: bool = False,
                       force: bool = False) -> ImportResult:
        """Run the configured source of ``name`` now; no caller picks the URL."""
        user.require_role(PLANNER_ADMIN, "run planner imports")
        source = self.sources.get(name)
        if not source:
            raise NotFound(f"no source is configured for the {name} import "
                           "(c.PlannerImporter.sources)")
        return self.run(self.identity(), name, source, dry_run=dry_run, force=force)

    def status(self, user: User) -> list[PlannerImportStatus]:
        """The last run of each import (any logged-in user may look)."""
        with self.db.read() as session:
            runs = {r.name: (r.source, r.ran_at, dict(r.summary or {}))
                    for r in session.scalars(select(ImportRun))}
        out = []
        for name in NAMES:
            source, ran_at, summary = runs.get(name, (self.sources.get(name), None, {}))
            out.append(PlannerImportStatus(name=name, configured=name in self.sources,
                                           source=source, ran_at=ran_at, summary=summary))
        return out

    def run_once(self, now: datetime | None = None) -> list[ImportResult]:
        """Every configured import once; a failing one is logged, not fatal."""
        done = []
        for name, source in sorted(self.sources.items()):
            try:
                result = self.run(self.identity(), name, source, now=now)
            except Exception:
                self.log.exception("planner import %s from %s failed", name, source)
                continue
            if result.changed or result.clashes or result.problems:
                self.log.info("planner import %s", result.line())
            done.append(result)
        return done

    async def _round(self) -> None:
        await asyncio.to_thread(self.run_once)


class _Run:
    """One import inside one write transaction."""

    def __init__(self, importer: PlannerImporter, session: Session, user: User, name: str,
                 now: datetime, result: ImportResult) -> None:
        self.importer, self.writer, self.session = importer, importer.writer, session
        self.user, self.name, self.now, self.result = user, name, now, result
        self.types = importer.planner.types

    def apply(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        people = {r.username: Person.of(r) for r in q.employees(self.session)}
        parsed = self._parse(rows, people)
        self.result.problems = parsed.problems
        if parsed.problems:
            self._warn_problems(parsed)
            if self.importer.strict:
                return
        existing = self._existing(parsed)
        wanted = {(w.day, w.key): w for w in parsed.wants}
        for key in sorted(existing.keys() - wanted.keys()):
            self._remove(existing[key])
        for key, want in sorted(wanted.items()):
            self._place(want, existing.get(key), people[want.username])
        self._track()

    def _parse(self, rows: list[tuple[int, dict[str, Any]]], people: dict[str, Person]
               ) -> Parsed:
        imp = self.importer
        if self.name == "night":
            return parse_night(rows, people, imp.night_roles, imp.role_aliases, self.types)
        return parse_leave(rows, people, imp.leave_types, self.types,
                           imp.planner.max_range_days)

    def _existing(self, parsed: Parsed) -> dict[tuple[Any, str], Entry]:
        """This import's rows that the file speaks about (its date range, its requests)."""
        stmt = select(Entry).where(Entry.source == self.name)
        if self.name == "night":
            if parsed.days is None:
                return {}
            stmt = stmt.where(Entry.day >= parsed.days[0], Entry.day <= parsed.days[1])
        else:
            if not parsed.requests:
                return {}
            stmt = stmt.where(Entry.import_key.in_(sorted(parsed.requests)))
        return {(r.day, str(r.import_key)): r for r in self.session.scalars(stmt)}

    def _past(self, row_day: Any, username: str) -> bool:
        tz = timing.zone(_zone(self.session, username))
        return bool(row_day < timing.local_day(self.now, tz))

    def _remove(self, row: Entry) -> None:
        if row.origin != self.name or row.deleted:
            return  # taken over by hand, or gone already
        if self._past(row.day, row.username):
            self.result.past += 1
            return
        self.writer.delete(self.session, self.user, row, self.now,
                           why=f"no longer in the {self.name} import")
        self.result.removed.append(f"{row.day.isoformat()} {row.import_key} {row.username}")

    def _place(self, want: Want, row: Entry | None, person: Person) -> None:
        tz = timing.zone(person.timezone)
        if want.day < timing.local_day(self.now, tz):
            self.result.past += 1
            return
        if row is not None and row.origin != self.name:
            if row.import_digest != want.digest:  # the file changed under a hand entry
                self._clash(want, [f"entry {row.id} of {row.username}, changed by hand"])
                self.session.execute(update(Entry).where(Entry.id == row.id)
                                     .values(import_digest=want.digest))
            else:
                self.result.unchanged += 1
            return
        if row is not None and not row.deleted and row.import_digest == want.digest:
            self.result.unchanged += 1
            return
        start, end = timing.interval(want.day, want.start, want.end, tz)
        span = Span(want.location, start, end, day=want.day, zone=person.timezone)
        blockers = self._blockers(want, span, row)
        label = f"{want.day.isoformat()} {want.key} {want.username}"
        if blockers:
            self._clash(want, blockers)
            if row is not None and not row.deleted:  # the old assignment is no longer wanted
                self.writer.delete(self.session, self.user, row, self.now,
                                   why=f"{self.name} import: replaced, new block in the way")
                self.result.removed.append(label)
            return
        values = {"username": want.username, "timezone": person.timezone, "note": want.note,
                  "import_digest": want.digest}
        if row is None:
            self.writer.insert(self.session, self.user, NewEntry(
                username=want.username, day=want.day, timezone=person.timezone, spans=[span],
                entered_by=self.user.username, note=want.note, origin=self.name,
                source=self.name, import_key=want.key, import_digest=want.digest), self.now)
            self.result.added.append(label)
        elif row.deleted:
            self.writer.undelete(self.session, self.user, row, values, [span], self.now)
            self.result.added.append(label)
        else:
            self.writer.change(self.session, self.user, row, values, [span], self.now,
                               why=f"{self.name} import changed")
            self.result.updated.append(label)

    def _blockers(self, want: Want, span: Span, row: Entry | None) -> list[str]:
        """Labels of the person's blocks in the way of ``span`` (or why the day is full)."""
        exclude = [row.id] if row is not None else []
        others = q.person_spans(self.session, want.username, want.day - timedelta(days=1),
                                want.day + timedelta(days=1), exclude=exclude)
        clashing = [o.label() for o in others if o.overlaps(span)]
        if clashing:
            return clashing
        try:
            rules.check_count(want.day, [span], others, self.importer.planner.max_blocks_per_day)
        except ValidationError as exc:
            return [exc.message]
        return []

    def _clash(self, want: Want, blocking: list[str]) -> None:
        clash = ImportClash(day=want.day, key=want.key, username=want.username,
                            block=want.label(), blocking=blocking)
        self.result.clashes.append(clash)
        message = (f"{self.name} import: {want.day.isoformat()} {want.key}: {want.label()} "
                   f"clashes with {'; '.join(blocking)}; not imported, the existing entry "
                   "is kept")
        event = self.importer.events.record(
            self.session, self.user, action="ADD", object_type=OBJECT_TYPE,
            object_id=self.name, status="WARNING", message=f"{self.name} import: clash",
            data={"import": self.name, "clash": clash.model_dump(mode="json")})
        self.importer.events.note(self.session, event, message, level="warning")

    def _warn_problems(self, parsed: Parsed) -> None:
        lines = [f"row {p.row}: {p.reason}" for p in parsed.problems]
        refused = " (strict: nothing applied)" if self.importer.strict else ""
        event = self.importer.events.record(
            self.session, self.user, action="ADD", object_type=OBJECT_TYPE,
            object_id=self.name, status="WARNING",
            message=f"{self.name} import: {len(lines)} row(s) not applied{refused}",
            data={"import": self.name, "source": self.result.source,
                  "problems": lines[:200]})
        self.importer.events.note(self.session, event, "; ".join(lines[:20]), level="warning")

    def _track(self) -> None:
        row = self.session.get(ImportRun, self.name)
        if row is None:
            row = ImportRun(name=self.name)
            self.session.add(row)
        r = self.result
        row.source, row.digest, row.ran_at = r.source, r.digest, self.now
        row.summary = {"rows": r.rows, "added": len(r.added), "updated": len(r.updated),
                       "removed": len(r.removed), "unchanged": r.unchanged, "past": r.past,
                       "clashes": [f"{c.day} {c.key} {c.username}" for c in r.clashes][:50],
                       "problems": [f"row {p.row}: {p.reason}" for p in r.problems][:50]}
        if r.changed:
            self.importer.events.record(
                self.session, self.user, action="MOD", object_type=OBJECT_TYPE,
                object_id=self.name, status="WARNING" if r.clashes or r.problems else "SUCCESS",
                data=row.summary, message=f"planner import {r.line()}")


def _zone(session: Session, username: str) -> str:
    emp = session.get(Employee, username)
    return emp.timezone if emp is not None else "UTC"


__all__ = ["NAMES", "OBJECT_TYPE", "ImportTarget", "PlannerImporter"]
