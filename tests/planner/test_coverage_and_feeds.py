"""Coverage (defaults never count, gaps per rule and day), the employee directory re-sync, and
the iCal feeds parsed back (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import fsspec
import pytest
from icalendar import Calendar

from jupyter_astro_ops.core.errors import Conflict, Forbidden, NotFound
from jupyter_astro_ops.planner.schemas import EmployeeIn, EntryPatch

from .conftest import MON, events_count, local


def test_coverage_counts_stored_blocks_not_defaults(planner: Any, users: Any, put: Any) -> None:
    put("bob", MON, ("SUNight", "18:00", "06:00"))
    put("dave", MON, ("SU", "07:00", "15:00"))
    cov = planner.coverage(users["carol"], MON, MON + timedelta(days=5))
    assert [r.name for r in cov.rules] == ["Night attendant on the summit",
                                           "Observing assistant on the summit", "Summit lead"]
    monday = {c.rule: c for c in cov.cells if c.day == MON}
    assert (monday["Night attendant on the summit"].who, monday[
        "Night attendant on the summit"].gap) == (["bob"], 0)
    assert monday["Observing assistant on the summit"].gap == 1
    assert monday["Summit lead"].covered == 1
    tuesday = {c.rule: c for c in cov.cells if c.day == MON + timedelta(days=1)}
    assert tuesday["Summit lead"].gap == 1  # dave's default SU day is not a duty
    saturday = [c.rule for c in cov.cells if c.day == MON + timedelta(days=5)]
    assert "Summit lead" not in saturday  # weekdays only
    assert len(cov.gaps) == len([c for c in cov.cells if c.gap])


def test_directory_resync_is_idempotent_and_deactivates(parts: Any, users: Any, db: Any,
                                                       staff: Any) -> None:
    listing = ("username,display_name,department,roles,primary_shift,working_days\n"
               "bob,Bob Night,Operations,night_attendant,18:00-06:00,mon-fri\n"
               "carol,Carol Assist,Operations,observing_assistant;summit_lead,,\n"
               "zed,,Operations,,,\n")
    url = "memory://planner-tests/staff.csv"
    with fsspec.open(url, "w") as handle:
        handle.write(listing)
    parts.employees.directory.url = url
    first = parts.employees.sync(users["dave"])
    assert first.updated == ["bob", "carol"] and first.added == []
    assert sorted(first.deactivated) == ["alice", "dave", "erin", "frank", "lara"]
    assert len(first.problems) == 1 and "zed" in first.problems[0]
    bob = parts.employees.get_employee(users["carol"], "bob")
    assert (bob.shift_start, bob.shift_end) == ("18:00", "06:00")
    count = events_count(db, "PLANNER_EMPLOYEE")
    again = parts.employees.sync(users["dave"])
    assert (again.added, again.updated, again.deactivated, again.unchanged) == ([], [], [], 2)
    assert events_count(db, "PLANNER_EMPLOYEE") == count
    active = [e.username for e in parts.employees.list_employees(users["bob"])]
    assert active == ["bob", "carol"]
    everyone = parts.employees.list_employees(users["bob"], include_inactive=True)
    assert len(everyone) == 7  # history stays
    with pytest.raises(Forbidden):
        parts.employees.sync(users["bob"])


def test_planner_admin_edits_employees(parts: Any, users: Any, staff: Any) -> None:
    spec = EmployeeIn(display_name="Frank T.", department="Engineering",
                      working_days=["mon"], primary_location="Hilo")
    with pytest.raises(Forbidden):
        parts.employees.save_employee(users["frank"], "frank", spec)
    out, created = parts.employees.save_employee(users["dave"], "frank", spec)
    assert not created and out.primary_location == "Hilo" and out.version == 2
    with pytest.raises(Conflict):
        parts.employees.save_employee(users["dave"], "frank", spec, version=1)
    new, created = parts.employees.save_employee(users["dave"], "gina", spec)
    assert created and new.source == "manual"
    with pytest.raises(NotFound):
        parts.employees.get_employee(users["bob"], "nobody")


def test_feeds_parse_back(parts: Any, planner: Any, users: Any, put: Any) -> None:
    [night] = put("bob", MON, ("SUNight", "18:00", "06:00"), note="with carol")
    [day] = put("carol", MON, ("SU", "09:00", "15:00"))
    now = local(MON, "00:00")
    feed = parts.ical.person_feed(users["carol"], "bob", now=now)
    doc = Calendar.from_ical(feed.body)
    assert "Bob Night (bob)" in str(doc["x-wr-calname"])
    [event] = doc.walk("VEVENT")
    assert str(event["uid"]) == f"{night.id}-0@planner.astro-ops.local"
    assert event.decoded("dtstart") == local(MON, "18:00")
    assert event.decoded("dtend") == local(MON + timedelta(days=1), "06:00")
    assert str(event["summary"]) == "Bob Night: Summit night duty"
    assert "Note: with carol" in str(event["description"])
    assert int(event["sequence"]) == 0 and str(event["status"]) == "CONFIRMED"
    assert b"DTSTART:20300108T040000Z" in feed.body  # UTC, no VTIMEZONE
    again = parts.ical.person_feed(users["carol"], "bob", now=now)
    assert again.etag == feed.etag  # stable until something changes
    location = Calendar.from_ical(parts.ical.location_feed(users["bob"], "SU", now=now).body)
    assert [str(e["uid"]) for e in location.walk("VEVENT")] == [f"{day.id}-0@planner.astro-ops"
                                                                 ".local"]
    dept = Calendar.from_ical(parts.ical.department_feed(users["bob"], "Operations",
                                                         now=now).body)
    assert len(dept.walk("VEVENT")) == 2
    assert not any("HQ" in str(e["summary"]) for e in dept.walk("VEVENT"))  # no defaults
    planner.modify_entry(users["bob"], night.id, EntryPatch(note="moved"))
    planner.delete_entry(users["carol"], day.id)
    parts.ical.future_days = 5000  # deleted "now" (today), the entries are in 2030
    changed = parts.ical.department_feed(users["bob"], "Operations")
    events = {str(e["uid"]).split("-")[0]: e for e in Calendar.from_ical(changed.body)
              .walk("VEVENT")}
    assert int(events[night.id]["sequence"]) == 1
    assert str(events[day.id]["status"]) == "CANCELLED"
    with pytest.raises(NotFound):
        parts.ical.person_feed(users["bob"], "nobody")
    with pytest.raises(NotFound):
        parts.ical.location_feed(users["bob"], "Moon")
    with pytest.raises(NotFound):
        parts.ical.department_feed(users["bob"], "Nowhere")
