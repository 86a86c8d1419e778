"""Demo data of the people planner (``planner.json``), seeded through the planner's parts.

``make demo`` gets ~30 employees in four departments (the demo users ``alice``, ``obs1``,
``obs2`` and ``sched`` among them; ``sched`` is the ``planner_admin``), the next two holidays,
summit-lead shifts on weekdays, a few hand entries, and a night table and a leave file for the
coming weeks, imported by the real importer from ``memory://`` files. One night is deliberately
uncovered: the night table rosters a night attendant whom the leave file has on vacation, so
the coverage strip shows one red night with the reason. Idempotent: a second run adds nothing.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta, timezone
from importlib import resources
from typing import Any

import fsspec

from ..compose import Services
from ..core.errors import Conflict
from ..core.identity import User
from ..planner.employees import record_from
from ..planner.rules import PLANNER_ADMIN
from ..planner.schemas import BlockIn, EntryIn, HolidayIn

NIGHT_URL = "memory://astro-ops-demo/planner/night-table.csv"
LEAVE_URL = "memory://astro-ops-demo/planner/loar.json"


def load() -> dict[str, Any]:
    """The packaged planner demo description."""
    return json.loads(resources.files(__package__).joinpath("planner.json").read_text("utf-8"))


def with_planner_roles(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with the planner's demo roles (``planner_admin``) added to its role map."""
    roles = {name: list(members) for name, members in spec["roles"].items()}
    for name, members in load()["roles"].items():
        roles[name] = sorted(set(roles.get(name, [])) | set(members))
    return {**spec, "roles": roles}


def seed_planner(services: Services, users: dict[str, User],
                 today: date | None = None) -> list[str]:
    """Create the planner demo data (only what is missing); one line per step done."""
    data = load()
    today = today or date.today()
    monday = today - timedelta(days=today.weekday())
    admin = next((u for u in users.values() if u.has_role(PLANNER_ADMIN)),
                 User("demo", roles=frozenset({PLANNER_ADMIN})))
    parts = services.planner
    done = []
    records = [record_from(item) for item in data["employees"]]
    synced = parts.employees.apply_records(parts.employees.identity(), records)
    if synced.added or synced.updated:
        done.append(f"planner: {len(synced.added)} employees added, {len(synced.updated)} "
                    f"updated in {len(data['departments'])} departments")
    done += _holidays(services, admin, data["holidays"], today)
    done += _summit_leads(services, admin, data, monday)
    done += _hand_entries(services, users, admin, data["hand_entries"], today)
    _gap_day, gap_person = _gap(data, today, monday)
    night = _write(NIGHT_URL, _night_csv(data, monday))
    leave = _write(LEAVE_URL, _leave_json(data, today, gap_person))
    importer = parts.importer
    start = _start_of(monday)
    for name, url in (("leave", leave), ("night", night)):
        result = importer.run(importer.identity(), name, url, now=start)
        if result.changed:
            done.append(f"planner: {result.line()}")
    return done


def _start_of(day: date) -> datetime:
    """An instant before every local day of the week of ``day`` (imports skip past days)."""
    return datetime.combine(day, time(), timezone.utc) - timedelta(days=1)


def _holidays(services: Services, admin: User, holidays: list[list[str]], today: date
              ) -> list[str]:
    upcoming = sorted(
        (d, name) for month_day, name in holidays for year in (today.year, today.year + 1)
        if (d := date.fromisoformat(f"{year}-{month_day}")) >= today)[:2]
    done = []
    for day, name in upcoming:
        try:
            services.planner.holidays.add_holiday(admin, HolidayIn(calendar="main", day=day,
                                                                   name=name))
        except Conflict:
            continue
        done.append(f"planner: holiday {name} on {day.isoformat()}")
    return done


def _summit_leads(services: Services, admin: User, data: dict[str, Any], monday: date
                  ) -> list[str]:
    leads, done = data["summit_leads"], []
    for week in range(data["night_weeks"]):
        lead = leads[week % len(leads)]
        first = monday + timedelta(days=7 * week)
        spec = EntryIn(username=lead, start_date=first, end_date=first + timedelta(days=4),
                       blocks=[BlockIn(location="SU", start="07:00", end="15:30")],
                       note="summit lead", summit_lead="7-3")
        try:
            services.planner.service.create_entries(admin, spec)
        except Conflict:
            continue  # already there (an earlier demo run), or a holiday entry in the way
        done.append(f"planner: {lead} is summit lead in the week of {first.isoformat()}")
    return done


def _hand_entries(services: Services, users: dict[str, User], admin: User,
                  items: list[dict[str, Any]], today: date) -> list[str]:
    done = []
    for item in items:
        by = users.get(item.get("by") or item["user"], admin)
        first = today + timedelta(days=item["day"])
        until = today + timedelta(days=item["until"]) if "until" in item else None
        spec = EntryIn(username=item["user"], start_date=first, end_date=until,
                       blocks=[BlockIn(location=b[0], start=b[1], end=b[2])
                               for b in item["blocks"]],
                       note=item.get("note", ""), seats=item.get("seats", 0),
                       summit_lead=item.get("summit_lead", ""))
        try:
            services.planner.service.create_entries(by, spec)
        except Conflict:
            continue
        done.append(f"planner: {item['user']} {item['blocks'][0][0]} on {first.isoformat()}")
    return done


def _gap(data: dict[str, Any], today: date, monday: date) -> tuple[date, str]:
    """The deliberately uncovered night (a weekday) and who is rostered on it."""
    day = today + timedelta(days=data["deliberate_gap"]["day"])
    while day.weekday() >= 5:
        day += timedelta(days=1)
    rota = data["night_rota"][data["deliberate_gap"]["role"]]
    return day, rota[(day - monday).days % len(rota)]


def _night_csv(data: dict[str, Any], monday: date) -> str:
    """Every night of the coming weeks, each role from its rota (the gap is in the leave)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "role", "person"])
    for offset in range(7 * data["night_weeks"]):
        day = monday + timedelta(days=offset)
        for role, rota in data["night_rota"].items():
            writer.writerow([day.isoformat(), role, rota[offset % len(rota)]])
    return out.getvalue()


def _leave_json(data: dict[str, Any], today: date, gap_person: str) -> str:
    rows = []
    for item in data["leave"]:
        gap = item["person"] == "{gap_person}"
        first = _gap(data, today, today - timedelta(days=today.weekday()))[0] if gap \
            else today + timedelta(days=item["from"])
        last = first + timedelta(days=item["to"] - item["from"])
        rows.append({**item, "person": gap_person if gap else item["person"],
                     "from": first.isoformat(), "to": last.isoformat()})
    return json.dumps({"leave": rows}, indent=1)


def _write(url: str, text: str) -> str:
    with fsspec.open(url, "w") as handle:
        handle.write(text)
    return url


__all__ = ["load", "seed_planner", "with_planner_roles"]
