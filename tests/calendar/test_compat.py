"""The Photon Ranch compatible API: every endpoint with the original request/response shapes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from jupyter_astro_ops.activity.models import Project, ProjectMember
from jupyter_astro_ops.core.db import Database

from .conftest import T0, iso

EVENT_KEYS = {"event_id", "start", "end", "creator", "creator_id", "site", "resourceId", "title",
              "reservation_type", "origin", "project_id", "reservation_note", "last_modified"}


def short(hours: float) -> str:
    """``yyyy-MM-ddTHH:mmZ``, the format of the original README."""
    return iso(hours).replace(":00Z", "Z")


async def compat(api: Any, user: str | None, name: str, body: Any) -> tuple[int, Any]:
    return await api(user, "POST", "v1", "calendar", "compat", name, body=body)


async def new(api: Any, user: str, t0: float, t1: float, **extra: Any) -> tuple[int, Any]:
    body = {"event_id": str(uuid.uuid4()), "start": iso(t0), "end": short(t1), "site": "saf",
            "resourceId": "saf", "title": "", "reservation_type": "realtime", "origin": "PTR",
            "creator": "Whoever", "creator_id": user, "project_id": "none",
            "reservation_note": "", **extra}
    return await compat(api, user, "newevent", body)


@pytest.fixture
def project(tmp_path: Any, api: Any) -> str:
    """Project m31 in the server's database, bob a member; returns its Photon Ranch id."""
    db = Database(f"sqlite:///{tmp_path}/server.db")
    try:
        with db.write() as session:
            row = Project(name="m31", description="", created_by="bob", created=T0)
            session.add(row)
            session.flush()
            session.add(ProjectMember(project_id=row.id, username="bob", role="pi", added=T0))
    finally:
        db.dispose()
    return "m31#2030-01-01T00:00:00Z"


async def test_newevent_shape_and_rules(api: Any) -> None:
    status, body = await new(api, "bob", 0, 2)
    assert status == 200 and set(body) == {"table_response", "new_calendar_event"}
    ev = body["new_calendar_event"]
    assert set(ev) == EVENT_KEYS
    assert (ev["start"], ev["end"], ev["creator_id"], ev["creator"], ev["origin"]) == (
        iso(0), iso(2), "bob", "Bob", "ptr")
    assert (ev["title"], ev["resourceId"], ev["project_id"]) == ("Bob", "saf", "none")
    status, err = await new(api, "carol", 1, 3)  # overlap
    assert status == 409 and err["details"]["conflicts"][0]["creator_id"] == "bob"
    assert (await new(api, "carol", 2, 3))[0] == 200  # touching is fine
    status, _ = await new(api, "carol", 5, 6, creator_id="bob")  # spoofing refused
    assert status == 403
    status, ev2 = await new(api, "dave", 7, 8, creator_id="bob", creator="Bob B")  # admin may
    assert status == 200 and ev2["new_calendar_event"]["creator_id"] == "bob"


@pytest.mark.parametrize("patch", [{"start": "tomorrow"}, {"start": "2030-01-01T00:00:00"},
                                   {"end": iso(-1)}, {"site": None}, {"reservation_type": "x"},
                                   {"event_id": "not-a-uuid"}])
async def test_newevent_bad_input(api: Any, patch: dict[str, Any]) -> None:
    status, err = await new(api, "bob", 0, 1, **patch)
    assert status == 400, err


async def test_modify_and_delete(api: Any) -> None:
    _, body = await new(api, "bob", 0, 2)
    ev = body["new_calendar_event"]
    _, other = await new(api, "carol", 3, 4)
    moved = {**ev, "start": short(1), "end": iso(3), "title": "moved"}
    req = {"originalEvent": ev, "modifiedEvent": moved}
    assert (await compat(api, "carol", "modifyevent", req))[0] == 403
    status, out = await compat(api, "bob", "modifyevent", req)
    assert status == 200 and out["ResponseMetadata"]["HTTPStatusCode"] == 200
    mod = out["modified_calendar_event"]
    assert (mod["event_id"], mod["start"], mod["end"], mod["title"]) == (
        ev["event_id"], iso(1), iso(3), "moved")
    # stale: originalEvent carries the old last_modified
    stale = {**ev, "last_modified": "2000-01-01T00:00:00Z"}
    assert (await compat(api, "bob", "modifyevent",
                         {"originalEvent": stale, "modifiedEvent": moved}))[0] == 409
    clash = {"originalEvent": mod, "modifiedEvent": {**mod, "end": iso(3.5)}}
    assert (await compat(api, "bob", "modifyevent", clash))[0] == 409
    key = {"event_id": mod["event_id"], "start": mod["start"]}
    assert (await compat(api, "carol", "delete", key))[0] == 403
    status, out = await compat(api, "bob", "delete", key)
    assert status == 200 and out == {"ResponseMetadata": {"HTTPStatusCode": 200}}
    ev_other = other["new_calendar_event"]
    assert (await compat(api, "dave", "delete", {"event_id": ev_other["event_id"],
                                                 "start": ev_other["start"]}))[0] == 200
    assert (await compat(api, "bob", "delete", {"event_id": str(uuid.uuid4())}))[0] == 404


async def test_site_events_window_finds_long_events(api: Any) -> None:
    _, long = await new(api, "bob", 0, 30)
    _, short_ev = await new(api, "carol", 30, 31)
    body = {"site": "saf", "start": iso(10), "end": iso(12)}
    status, events = await compat(api, "carol", "siteevents", body)
    assert status == 200 and [e["event_id"] for e in events] == [
        long["new_calendar_event"]["event_id"]]
    body = {"site": "saf", "start": short(29), "end": short(40)}
    events = (await compat(api, "carol", "siteevents", body))[1]
    assert len(events) == 2 and set(events[0]) == EVENT_KEYS
    assert short_ev["new_calendar_event"] in events
    assert (await compat(api, "carol", "siteevents", {"site": "saf", "start": iso(0)}))[0] == 400


async def test_point_queries_are_half_open(api: Any) -> None:
    _, a = await new(api, "bob", 0, 2)
    _, b = await new(api, "carol", 2, 4)
    status, events = await compat(api, "dave", "get-event-at-time", {"site": "saf", "time": iso(2)})
    assert status == 200 and [e["event_id"] for e in events] == [
        b["new_calendar_event"]["event_id"]]
    ask = {"user_id": "bob", "site": "saf", "time": short(1)}
    assert (await compat(api, "dave", "is-user-scheduled", ask)) == (200, True)
    assert (await compat(api, "dave", "does-conflicting-event-exist", ask)) == (200, False)
    ask["time"] = iso(2)
    assert (await compat(api, "dave", "is-user-scheduled", ask)) == (200, False)
    assert (await compat(api, "dave", "does-conflicting-event-exist", ask)) == (200, True)
    ask["time"] = iso(9)
    assert (await compat(api, "dave", "does-conflicting-event-exist", ask)) == (200, False)
    status, events = await compat(api, "carol", "user-events-ending-after-time",
                                  {"user_id": "bob", "time": iso(1)})
    assert status == 200 and [e["event_id"] for e in events] == [
        a["new_calendar_event"]["event_id"]]
    assert (await compat(api, "carol", "get-event-at-time", {"site": "saf"}))[0] == 400


async def test_projects_attach_and_detach(api: Any, project: str) -> None:
    _, body = await new(api, "bob", 0, 2)
    ev = body["new_calendar_event"]
    req = {"project_id": project, "events": [{"event_id": ev["event_id"], "start": ev["start"]}]}
    assert (await compat(api, "carol", "add-projects-to-events", req))[0] == 403
    status, out = await compat(api, "bob", "add-projects-to-events", req)
    assert status == 200 and out == [{"ResponseMetadata": {"HTTPStatusCode": 200}}]
    body = {"site": "saf", "start": iso(0), "end": iso(1), "full_project_details": True}
    events = (await compat(api, "bob", "siteevents", body))[1]
    assert events[0]["project_id"] == project
    assert events[0]["project"]["project_name"] == "m31"
    bad = {**req, "project_id": "nope#2020-01-01T00:00:00Z"}
    assert (await compat(api, "bob", "add-projects-to-events", bad))[0] == 400
    rm = {"events": [ev["event_id"]]}
    assert (await compat(api, "carol", "remove-project-from-events", rm))[0] == 403
    assert (await compat(api, "bob", "remove-project-from-events", rm)) == (200, "Success")
    events = (await compat(api, "bob", "siteevents", body))[1]
    assert events[0]["project_id"] == "none"
    # newevent with a project: needs membership
    assert (await new(api, "carol", 5, 6, project_id=project))[0] == 403
    status, made = await new(api, "bob", 5, 6, project_id=project)
    assert status == 200 and made["new_calendar_event"]["project_id"] == project


async def test_remove_expired_lco_schedule(api: Any, project: str) -> None:
    status, _ = await new(api, "bob", 0, 1, origin="lco")
    assert status == 403  # only calendar_admin may import
    lco = [await new(api, "dave", h, h + 1, origin="LCO", project_id="none") for h in (1, 3, 5)]
    assert all(s == 200 for s, _ in lco)
    assert lco[0][1]["new_calendar_event"]["project_priority"] == "standard"
    await new(api, "bob", 7, 8)
    req = {"site": "saf", "cutoff_time": iso(2)}
    assert (await compat(api, "bob", "remove-expired-lco-schedule", req))[0] == 403
    status, out = await compat(api, "dave", "remove-expired-lco-schedule", req)
    assert status == 200 and out == {"removed": 2, "project_ids": []}
    events = (await compat(api, "bob", "siteevents",
                           {"site": "saf", "start": iso(0), "end": iso(10)}))[1]
    assert [e["origin"] for e in events] == ["lco", "ptr"]


@pytest.mark.parametrize("name", ["newevent", "modifyevent", "delete", "siteevents",
                                  "add-projects-to-events", "remove-project-from-events",
                                  "remove-expired-lco-schedule", "user-events-ending-after-time",
                                  "get-event-at-time", "is-user-scheduled",
                                  "does-conflicting-event-exist"])
async def test_every_endpoint_needs_login_and_json(api: Any, name: str) -> None:
    assert (await compat(api, None, name, {}))[0] == 403
    assert (await compat(api, "bob", name, {}))[0] == 400
    status, _ = await api("bob", "POST", "v1", "calendar", "compat", name, raw_body=b"not json")
    assert status == 400
