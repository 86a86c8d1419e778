"""Planner REST API: every route, statuses, permissions, ETags, bad input (400, never 500)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import fsspec
import pytest
from icalendar import Calendar

P = ("v1", "planner")
STAFF = {
    "bob": {"display_name": "Bob Night", "department": "Operations",
            "roles": ["night_attendant"]},
    "carol": {"display_name": "Carol Assist", "department": "Operations",
              "roles": ["observing_assistant"]},
    "dave": {"display_name": "Dave Lead", "department": "Engineering",
             "roles": ["summit_lead"], "primary_location": "SU"},
}
MON = "2030-01-07"
NIGHT = "date,role,person\n2030-01-07,night_attendant,bob\n2030-01-07,oa,carol\n"


@pytest.fixture
def astro_config(tmp_path: Any) -> dict[str, Any]:
    from .conftest import PLANNER_ROLES

    night = f"memory://planner-api-{tmp_path.name}/night.csv"
    with fsspec.open(night, "w") as handle:
        handle.write(NIGHT)
    return {"AstroOpsApp": {"db_url": f"sqlite:///{tmp_path}/server.db",
                            "roles": PLANNER_ROLES},
            "PlannerImporter": {"sources": {"night": night}, "enabled": False}}


async def add_staff(api: Any) -> None:
    for name, body in STAFF.items():
        status, out = await api("dave", "PUT", *P, "employees", name, body=body)
        assert status == 201, out


def entry(day: str = MON, *blocks: tuple[str, str, str], **extra: Any) -> dict[str, Any]:
    return {"start_date": day, "blocks": [{"location": loc, "start": s, "end": e}
                                          for loc, s, e in blocks or [("HQ", "08:00", "12:00")]],
            **extra}


async def test_settings_and_employees(api: Any) -> None:
    await add_staff(api)
    status, settings = await api("bob", "GET", *P, "settings")
    assert status == 200 and settings["max_blocks_per_day"] == 2
    assert settings["employee"] and not settings["admin"]
    assert {t["code"]: t["settable"] for t in settings["locations"]}["Vacation"] is False
    status, people = await api("carol", "GET", *P, "employees", params={"department":
                                                                       "Operations"})
    assert status == 200 and [p["username"] for p in people] == ["bob", "carol"]
    status, bob = await api("carol", "GET", *P, "employees", "bob")
    assert status == 200 and bob["shift_start"] == "08:00" and bob["working_days"][0] == "mon"
    body = {**STAFF["bob"], "base_camp": "Waimea"}
    assert (await api("carol", "PUT", *P, "employees", "bob", body=body))[0] == 403
    status, out = await api("dave", "PUT", *P, "employees", "bob", body=body,
                            headers={"If-Match": '"1"'})
    assert status == 200 and out["version"] == 2
    status, err = await api("dave", "PUT", *P, "employees", "bob", body=body,
                            headers={"If-Match": '"1"'})
    assert status == 409 and err["details"]["current"]["version"] == 2
    assert (await api("dave", "GET", *P, "employees", "nobody"))[0] == 404
    assert (await api("dave", "POST", *P, "employees", "sync"))[0] == 404  # none configured
    assert (await api("bob", "POST", *P, "employees", "sync"))[0] == 403


async def test_entries_crud_with_etags(api: Any) -> None:
    await add_staff(api)
    status, created = await api("bob", "POST", *P, "entries",
                                body=entry(MON, ("WFH", "08:00", "12:00"), note="phone",
                                           end_date="2030-01-08"))
    assert status == 201 and [e["day"] for e in created] == [MON, "2030-01-08"]
    first = created[0]
    assert first["blocks"][0]["start"] == "2030-01-07T18:00:00Z"  # 08:00 HST
    status, rows = await api("carol", "GET", *P, "entries",
                             params={"start": MON, "end": "2030-01-13", "user": "bob"})
    assert status == 200 and [r["id"] for r in rows] == [e["id"] for e in created]
    status, got = await api("carol", "GET", *P, "entries", first["id"])
    assert status == 200 and got == first
    path = (*P, "entries", first["id"])
    status, changed = await api("bob", "PATCH", *path, body={"note": "cell"},
                                headers={"If-Match": '"1"'})
    assert status == 200 and changed["version"] == 2
    assert (await api("bob", "PATCH", *path, body={"note": "x", "version": 1}))[0] == 409
    assert (await api("carol", "PATCH", *path, body={"note": "x"}))[0] == 403
    assert (await api("dave", "PATCH", *path, body={"seats": 3}))[0] == 200  # planner_admin
    assert (await api("bob", "DELETE", *path, headers={"If-Match": '"2"'}))[0] == 409
    assert (await api("carol", "DELETE", *path))[0] == 403
    assert (await api("bob", "DELETE", *path))[0] == 204
    assert (await api("bob", "PATCH", *path, body={"note": "x"}))[0] == 404
    assert (await api(None, "GET", *P, "entries", params={"start": MON}))[0] == 403


@pytest.mark.parametrize("body,status,text", [
    (entry(MON, ("HQ", "08:00", "08:00")), 400, "zero length"),
    (entry(MON, ("HQ", "8am", "12:00")), 400, "blocks.0.start"),
    (entry(MON, ("HQ", "06:00", "07:00"), ("HQ", "08:00", "09:00"), ("HQ", "10:00", "11:00")),
     400, "at most 2"),
    (entry(MON, ("HQ", "08:00", "12:00"), ("Hilo", "11:00", "13:00")), 409, "overlaps"),
    (entry(MON, ("WFH", "08:00", "12:00")), 400, "needs a note"),
    (entry(MON, ("Vacation", "08:00", "17:00")), 403, "may not set"),
    (entry(MON, end_date="2030-03-01"), 400, "at most 31 days"),
    (entry("2030-13-01"), 400, "start_date"),
    ({"start_date": MON, "blocks": []}, 400, "blocks"),
    (entry(MON, username="carol"), 403, "may not change"),
    (entry(MON, note="x" * 5000), 400, "note"),
    (entry(MON, surprise=1), 400, "surprise"),
    (entry(MON, note="nul\u0000"), 400, "NUL"),
], ids=["zero", "bad-time", "three", "overlap", "note", "leave", "range", "date", "empty",
        "other", "long", "extra", "nul"])
async def test_entry_validation(api: Any, body: dict[str, Any], status: int,
                                text: str) -> None:
    await add_staff(api)
    got, err = await api("bob", "POST", *P, "entries", body=body)
    assert got == status and text in err["message"] + json.dumps(err.get("details")), err


async def test_bad_json_and_queries(api: Any) -> None:
    await add_staff(api)
    assert (await api("bob", "POST", *P, "entries", raw_body=b"{nope"))[0] == 400
    assert (await api("bob", "POST", *P, "entries", raw_body=b"[1]"))[0] == 400
    for params in ({"start": "soon"}, {}, {"start": MON, "end": "2029-01-01"},
                   {"start": MON, "end": "2031-01-01"}, {"start": MON, "location": "x y"}):
        assert (await api("bob", "GET", *P, "grid", params=params))[0] == 400, params
    assert (await api("bob", "GET", *P, "whereis", params={"at": "2030-01-07T10:00"}))[0] \
        == 400  # no time zone
    assert (await api("bob", "GET", *P, "coverage", params={"start": "x"}))[0] == 400
    assert (await api("bob", "PATCH", *P, "entries", "0" * 32, body={"note": "x"},
                      headers={"If-Match": "abc"}))[0] == 400
    assert (await api("bob", "GET", *P, "entries", "0" * 32))[0] == 404


async def test_grid_whereis_coverage(api: Any) -> None:
    await add_staff(api)
    await api("bob", "POST", *P, "entries", body=entry(MON, ("SUNight", "18:00", "06:00")))
    status, grid = await api("carol", "GET", *P, "grid",
                             params={"start": MON, "end": "2030-01-13", "department":
                                     "Operations"})
    assert status == 200 and [r["username"] for r in grid["rows"]] == ["bob", "carol"]
    bob = grid["rows"][0]["cells"]
    assert [(b["location"], b["kind"]) for b in bob[0]["blocks"]] == [("SUNight", "stored")]
    assert [(b["location"], b["kind"]) for b in bob[1]["blocks"]] == [("HQ", "default")]
    assert bob[5]["blocks"] == []
    status, where = await api("carol", "GET", *P, "whereis",
                              params={"user": "bob", "at": "2030-01-08T10:00:00Z"})
    assert status == 200 and where["now"][0]["location"] == "SUNight"
    status, me = await api("bob", "GET", *P, "whereis")
    assert status == 200 and me["username"] == "bob"
    assert (await api("bob", "GET", *P, "whereis", params={"user": "zed"}))[0] == 404
    status, cov = await api("carol", "GET", *P, "coverage", params={"start": MON})
    assert status == 200
    cells = {c["rule"]: c for c in cov["cells"]}
    assert cells["Night attendant on the summit"]["who"] == ["bob"]
    assert cells["Observing assistant on the summit"]["gap"] == 1


async def test_holidays(api: Any) -> None:
    await add_staff(api)
    body = {"calendar": "main", "day": MON, "name": "Founders' Day"}
    assert (await api("bob", "POST", *P, "holidays", body=body))[0] == 403
    status, hol = await api("dave", "POST", *P, "holidays", body=body)
    assert status == 201 and hol["source"] == "table"
    assert (await api("dave", "POST", *P, "holidays", body=body))[0] == 409
    assert (await api("dave", "POST", *P, "holidays", body={**body, "calendar": "Main!"}))[0] \
        == 400
    status, listed = await api("bob", "GET", *P, "holidays", params={"start": MON})
    assert status == 200 and [h["name"] for h in listed] == ["Founders' Day"]
    _, grid = await api("bob", "GET", *P, "grid", params={"start": MON, "user": "bob"})
    assert grid["rows"][0]["cells"][0]["holiday"] == "Founders' Day"
    assert (await api("bob", "DELETE", *P, "holidays", str(hol["id"])))[0] == 403
    assert (await api("dave", "DELETE", *P, "holidays", str(hol["id"])))[0] == 204
    assert (await api("dave", "DELETE", *P, "holidays", str(hol["id"])))[0] == 404


async def test_swaps(api: Any) -> None:
    await add_staff(api)
    _, [night] = await api("bob", "POST", *P, "entries",
                           body=entry(MON, ("SUNight", "18:00", "06:00")))
    status, swap = await api("bob", "POST", *P, "swaps",
                             body={"entry_id": night["id"], "to_user": "carol"})
    assert status == 201 and swap["status"] == "PENDING"
    assert (await api("bob", "POST", *P, "swaps", body={"entry_id": night["id"],
                                                        "to_user": "c a"}))[0] == 400
    status, mine = await api("carol", "GET", *P, "swaps", params={"open": "true"})
    assert status == 200 and [s["id"] for s in mine] == [swap["id"]]
    assert (await api("bob", "GET", *P, "swaps", params={"all": "true"}))[0] == 403
    path = (*P, "swaps", swap["id"])
    assert (await api("bob", "PUT", *path, body={"decision": "accept"}))[0] == 403
    assert (await api("carol", "PUT", *path, body={"decision": "maybe"}))[0] == 400
    status, done = await api("carol", "PUT", *path, body={"decision": "accept"})
    assert status == 200 and done["state"] == "approved"
    assert (await api("carol", "PUT", *path, body={"decision": "decline"}))[0] == 409
    assert (await api("alice", "GET", *path))[1]["status"] == "APPROVED"
    _, carol = await api("bob", "GET", *P, "entries", params={"start": MON, "user": "carol"})
    assert carol[0]["blocks"][0]["location"] == "SUNight"


async def test_imports(api: Any) -> None:
    await add_staff(api)
    status, before = await api("bob", "GET", *P, "imports")
    assert status == 200 and {s["name"]: s["configured"] for s in before} == {
        "night": True, "leave": False}
    assert (await api("bob", "POST", *P, "imports", "night", body={}))[0] == 403
    status, dry = await api("dave", "POST", *P, "imports", "night", body={"dry_run": True})
    assert status == 200 and dry["dry_run"] and len(dry["added"]) == 2
    status, res = await api("dave", "POST", *P, "imports", "night", body={})
    assert status == 200 and len(res["added"]) == 2
    status, again = await api("dave", "POST", *P, "imports", "night", body={})
    assert again["file_unchanged"] and not again["added"]
    assert (await api("dave", "POST", *P, "imports", "leave", body={}))[0] == 404
    assert (await api("dave", "POST", *P, "imports", "payroll", body={}))[0] == 404
    assert (await api("dave", "POST", *P, "imports", "night", body={"url": "file:///"}))[0] \
        == 400  # the source is never the caller's choice
    _, after = await api("bob", "GET", *P, "imports")
    night = next(s for s in after if s["name"] == "night")
    assert night["ran_at"] and night["summary"]["added"] == 2


async def test_ical_feeds_with_the_shared_token(api: Any, jp_fetch: Any) -> None:
    await add_staff(api)
    soon = (datetime.now(timezone.utc) + timedelta(days=3)).date().isoformat()
    _, [night] = await api("bob", "POST", *P, "entries",
                           body=entry(soon, ("SUNight", "18:00", "06:00")))
    status, token = await api("carol", "POST", "v1", "calendar", "feed-token")
    assert status == 201
    for route in (("people", "bob.ics"), ("departments", "Operations.ics"),
                  ("locations", "SUNight.ics")):
        status, body = await api(None, "GET", *P, *route,
                                 params={"feed_token": token["token"]})
        assert status == 200, route
        assert isinstance(body, str) and "BEGIN:VCALENDAR" in body
    status, body = await api(None, "GET", *P, "people", "bob.ics",
                             params={"feed_token": token["token"]})
    doc = Calendar.from_ical(body)
    uids = [str(e["uid"]) for e in doc.walk("VEVENT")]
    assert uids == [f"{night['id']}-0@planner.astro-ops.local"]
    assert (await api(None, "GET", *P, "people", "bob.ics",
                      params={"feed_token": "wrong"}))[0] == 403
    assert (await api(None, "GET", *P, "people", "bob.ics"))[0] == 403
    assert (await api("carol", "GET", *P, "people", "zed.ics"))[0] == 404
    assert (await api("carol", "GET", *P, "locations", "Moon.ics"))[0] == 404
