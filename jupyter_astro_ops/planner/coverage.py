"""Coverage rules (``c.PlannerService.coverage_rules``) and the coverage check.

A rule asks for at least ``minimum`` people holding ``role`` (any role when omitted) at one of
``locations`` during the day or night window of every date in ``days``, e.g. "every night: 1
night attendant and 1 observing assistant on the summit" or "weekdays: 1 summit lead"::

    {"name": "Night attendant on the summit", "role": "night_attendant",
     "locations": ["SUNight"], "days": "every", "when": "night", "minimum": 1}

``days`` is ``"every"``, ``"weekdays"``, ``"weekends"`` or a list such as ``["mon", "fri"]``;
``when`` picks ``night_hours`` (the night *starting* on that date) or ``day_hours`` of the
service, in the site's zone. Only stored and imported blocks count (defaults are not duty).
Someone rostered on a day they also have leave does not cover it: the cell names them as a
conflict, which is the case no rostering tool reports ("uncovered because X is on leave").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from . import timing
from .grid import Person, duty_leave_pairs, duty_on_leave
from .locations import LocationType
from .queries import StoredBlock
from .schemas import WEEKDAYS, CoverageCell, CoverageOut, CoverageRuleOut, DutyConflict

DAY_SETS = {"every": WEEKDAYS, "daily": WEEKDAYS, "weekdays": WEEKDAYS[:5],
            "weekends": WEEKDAYS[5:]}
DEFAULT_RULES: list[dict[str, Any]] = [
    {"name": "Night attendant on the summit", "role": "night_attendant",
     "locations": ["SUNight"], "days": "every", "when": "night", "minimum": 1},
    {"name": "Observing assistant on the summit", "role": "observing_assistant",
     "locations": ["SUNight"], "days": "every", "when": "night", "minimum": 1},
    {"name": "Summit lead", "role": "summit_lead", "locations": ["SU"], "days": "weekdays",
     "when": "day", "minimum": 1},
]


@dataclass(frozen=True)
class CoverageRule:
    """One parsed rule."""

    name: str
    role: str | None
    locations: tuple[str, ...]
    days: tuple[str, ...]
    when: str
    start: int
    end: int
    minimum: int

    def applies(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.days

    def out(self) -> CoverageRuleOut:
        return CoverageRuleOut(name=self.name, role=self.role, locations=list(self.locations),
                               days=list(self.days),  # type: ignore[arg-type]
                               when=self.when,  # type: ignore[arg-type]
                               start=timing.clock(self.start), end=timing.clock(self.end),
                               minimum=self.minimum)


def parse_rules(spec: Sequence[Mapping[str, Any]], types: Mapping[str, LocationType],
                night_hours: str, day_hours: str) -> list[CoverageRule]:
    """Parse the configured rules; ``ValueError`` naming the first problem."""
    windows = {"night": timing.shift_minutes(night_hours), "day": timing.shift_minutes(day_hours)}
    rules, names = [], set()
    for number, item in enumerate(spec, 1):
        where = f"coverage rule {number} ({item.get('name', '?')!r})"
        unknown = set(item) - {"name", "role", "locations", "days", "when", "minimum"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        name = str(item.get("name") or f"rule {number}")
        if name in names:
            raise ValueError(f"{where}: two rules are called {name!r}")
        names.add(name)
        locations = item.get("locations") or []
        if isinstance(locations, str):
            locations = [locations]
        missing = [code for code in locations if code not in types]
        if not locations or missing:
            raise ValueError(f"{where}: locations must be known location codes ({missing})")
        days = item.get("days", "every")
        chosen = DAY_SETS.get(days) if isinstance(days, str) else tuple(days)
        if not chosen or any(d not in WEEKDAYS for d in chosen):
            raise ValueError(f"{where}: days is every/weekdays/weekends or a list of mon..sun")
        when = item.get("when", "night")
        if when not in windows:
            raise ValueError(f"{where}: when is 'day' or 'night'")
        minimum = item.get("minimum", 1)
        if not isinstance(minimum, int) or not 1 <= minimum <= 100:
            raise ValueError(f"{where}: minimum is a whole number from 1 to 100")
        start, end = windows[when]
        rules.append(CoverageRule(name, item.get("role"), tuple(locations), tuple(chosen),
                                  when, start, end, minimum))
    return rules


def relevant_locations(rules: Sequence[CoverageRule], types: Mapping[str, LocationType]
                       ) -> set[str]:
    """The only locations coverage reads: the rules' own, and every leave and duty type."""
    return ({code for rule in rules for code in rule.locations}
            | {code for code, t in types.items() if t.kind in ("leave", "duty")})


def check_coverage(rules: Sequence[CoverageRule], people: Mapping[str, Person],
                   blocks: Sequence[StoredBlock], types: Mapping[str, LocationType],
                   first: date, last: date, site_zone: str) -> CoverageOut:
    """Every rule x day of ``[first, last]``, and every duty-on-leave conflict."""
    tz = timing.zone(site_zone)
    leave_codes = {code for code, t in types.items() if t.kind == "leave"}
    by_day: dict[tuple[str, date], list[StoredBlock]] = {}
    on_leave: dict[tuple[str, date], str] = {}
    for b in blocks:
        by_day.setdefault((b.username, b.day), []).append(b)
        if b.location in leave_codes:
            on_leave.setdefault((b.username, b.day), b.location)
    conflicts = []
    for username, day in sorted(on_leave, key=lambda key: (key[1], key[0])):
        if first <= day <= last:
            for duty, leave in duty_leave_pairs(by_day[(username, day)], types):
                conflicts.append(DutyConflict(day=day, username=username, duty=duty.location,
                                              leave=leave.location,
                                              message=duty_on_leave(duty, leave)))
    wanted = {code for rule in rules for code in rule.locations}
    near: dict[tuple[str, date], list[StoredBlock]] = {}
    one = timedelta(days=1)
    for b in blocks:  # a window of date D can only meet entries of D-1, D and D+1
        if b.location in wanted:
            for day in (b.day - one, b.day, b.day + one):
                near.setdefault((b.location, day), []).append(b)
    cells = [_cell(rule, day, tz, people, near, on_leave)
             for day in timing.days(first, last) for rule in rules if rule.applies(day)]
    return CoverageOut(start=first, end=last, rules=[r.out() for r in rules], cells=cells,
                       conflicts=conflicts)


def _cell(rule: CoverageRule, day: date, tz: Any, people: Mapping[str, Person],
          near: Mapping[tuple[str, date], list[StoredBlock]],
          on_leave: Mapping[tuple[str, date], str]) -> CoverageCell:
    start, end = timing.interval(day, rule.start, rule.end, tz)
    who: list[str] = []
    conflicts: list[str] = []
    for location in rule.locations:
        for b in near.get((location, day), ()):
            if not (b.start < end and start < b.end):
                continue
            person = people.get(b.username)
            if person is None or (rule.role is not None and rule.role not in person.roles):
                continue
            leave = on_leave.get((b.username, b.day))
            if leave is not None:
                conflicts.append(f"{person.display_name} ({b.username}) is rostered "
                                 f"({b.location}) but on {leave}")
            elif b.username not in who:
                who.append(b.username)
    return CoverageCell(rule=rule.name, day=day, required=rule.minimum, covered=len(who),
                        who=who, gap=max(0, rule.minimum - len(who)), conflicts=conflicts)


__all__ = ["DEFAULT_RULES", "CoverageRule", "check_coverage", "parse_rules",
           "relevant_locations"]
