"""Typed rows of the two planner imports: the night table and approved leave (LOAR).

* **Night table**: ``date, role, person`` per night (optional ``start``, ``end``, ``note``).
  The role picks the duty location and hours (``c.PlannerImporter.night_roles``); its key is
  the role, so ``(source, date, role)`` names one duty.
* **Leave**: ``person, type, from, to, status`` (optional ``id``, ``note``). ``approved``
  leave becomes a leave block (the person's primary shift) on each of their working days from
  ``from`` to ``to``; any other status (``cancelled``, ``denied``, ``pending``...) means the
  request has no days, so the entries it created are removed. The key is the request ``id``
  (or ``person/type/from`` when the file has no ids).

Each parser returns the wanted blocks and a ``problems`` list (row number and reason) for
malformed rows, unknown people, roles or leave types; nothing half-parsed gets through.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..core.errors import ValidationError
from ..core.wire import check_day
from . import timing
from .grid import Person
from .import_schemas import ImportProblem
from .locations import LocationType
from .readers import normal

APPROVED = "approved"
STATUSES = frozenset({"approved", "pending", "cancelled", "canceled", "denied", "rejected",
                      "withdrawn"})


@dataclass(frozen=True)
class Want:
    """One block an import wants on ``day`` under ``key``."""

    day: date
    key: str
    username: str
    location: str
    start: int
    end: int
    note: str = ""

    @property
    def digest(self) -> str:
        text = f"{self.username}|{self.location}|{self.start}|{self.end}|{self.note}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def label(self) -> str:
        return (f"{self.location} {timing.clock(self.start)}-{timing.clock(self.end % 1440)} "
                f"for {self.username}")


@dataclass
class Parsed:
    """What a file asks for: the wanted blocks, the keys it speaks about, the problems."""

    wants: list[Want] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    days: tuple[date, date] | None = None  # night table: the date range it covers
    requests: set[str] = field(default_factory=set)  # leave: the request keys it lists

    def problem(self, row: int | None, reason: str) -> None:
        self.problems.append(ImportProblem(row=row, reason=reason))


def _day(value: Any, name: str) -> date:
    if value in (None, ""):
        raise ValueError(f"{name} is missing")
    try:
        return check_day(date.fromisoformat(str(value).strip()[:10]))
    except ValueError as exc:
        raise ValueError(f"{name} {value!r} is not a date (YYYY-MM-DD)") from exc


def _person(row: Mapping[str, Any], people: Mapping[str, Person]) -> str:
    name = str(row.get("person") or row.get("username") or "").strip()
    if not name:
        raise ValueError("person is missing")
    if name not in people:
        raise LookupError(f"unknown person {name!r}")
    return name


def parse_night(rows: Sequence[tuple[int, dict[str, Any]]], people: Mapping[str, Person],
                roles: Mapping[str, Mapping[str, str]], aliases: Mapping[str, str],
                types: Mapping[str, LocationType]) -> Parsed:
    """The night table's duties."""
    out, seen = Parsed(), set()
    for number, row in rows:
        try:
            if "_invalid" in row:
                raise ValueError(f"not a row: {row['_invalid']!r}"[:200])
            day = _day(row.get("date"), "date")
            role = normal(row.get("role"))
            role = aliases.get(role, role)
            if role not in roles:
                raise LookupError(f"unknown role {row.get('role')!r} (known: "
                                  f"{', '.join(sorted(roles))})")
            spec = roles[role]
            if spec["location"] not in types:
                raise LookupError(f"unknown location {spec['location']!r} for role {role}")
            username = _person(row, people)
            start = timing.minutes(str(row.get("start") or spec["start"]))
            end = timing.minutes(str(row.get("end") or spec["end"]))
            if start == end:
                raise ValueError("the duty has zero length")
        except (ValueError, LookupError, ValidationError) as exc:
            out.problem(number, _reason(exc))
            continue
        if (day, role) in seen:
            out.problem(number, f"{day.isoformat()} {role} is listed twice")
            continue
        seen.add((day, role))
        out.wants.append(Want(day, role, username, spec["location"], start, end,
                              str(row.get("note") or "")[:4000]))
    listed = [w.day for w in out.wants]
    out.days = (min(listed), max(listed)) if listed else None
    return out


def parse_leave(rows: Sequence[tuple[int, dict[str, Any]]], people: Mapping[str, Person],
                leave_types: Mapping[str, str], types: Mapping[str, LocationType],
                max_days: int) -> Parsed:
    """Approved leave, one block per working day of each request."""
    out = Parsed()
    codes = {code.lower(): code for code, t in types.items() if t.kind == "leave"}
    for number, row in rows:
        try:
            if "_invalid" in row:
                raise ValueError(f"not a row: {row['_invalid']!r}"[:200])
            username = _person(row, people)
            kind = normal(row.get("type"))
            code = leave_types.get(kind) or codes.get(kind.replace("_", ""))
            if code is None or code not in types:
                raise LookupError(f"unknown leave type {row.get('type')!r}")
            first = _day(row.get("from") or row.get("start"), "from")
            last = _day(row.get("to") or row.get("end") or first, "to")
            if last < first or (last - first).days >= max_days:
                raise ValueError(f"from..to must be 1 to {max_days} days")
            status = normal(row.get("status") or APPROVED)
            if status not in STATUSES:
                raise ValueError(f"unknown status {row.get('status')!r}")
        except (ValueError, LookupError) as exc:
            out.problem(number, _reason(exc))
            continue
        key = str(row.get("id") or f"{username}/{kind}/{first.isoformat()}").strip()[:128]
        if key in out.requests:
            out.problem(number, f"leave request {key} is listed twice")
            continue
        out.requests.add(key)
        if status != APPROVED:
            continue
        person = people[username]
        for day in timing.days(first, last):
            if person.works_on(day):
                out.wants.append(Want(day, key, username, code, person.shift_start,
                                      person.shift_end, str(row.get("note") or "")[:4000]))
    return out


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, ValidationError) else str(exc)


__all__ = ["Parsed", "Want", "parse_leave", "parse_night"]
