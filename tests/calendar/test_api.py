"""Calendar REST API: shapes, statuses, permissions, versions, bad input, concurrent bookings."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import iso

R = ("calendar", "reservations")


async def _book(api: Any, user: str, start: float, end: float, **extra: Any) -> tuple[int, Any]:
    body = {"site": "saf", "start": iso(start), "end": iso(end), **extra}
    return await api(user, "POST", "v1", *R, body=body)


async def test_sites(api: Any) -> None:
    status, sites = await api("carol", "GET", "v1", "calendar", "sites")
    assert status == 200 and [s["code"] for s in sites] == ["mrc", "saf"]
    assert sites[1] == {**sites[1], "name": "Santa Fe", "timezone": "America/Denver"}
    body = {"code": "ogg", "name": "Haleakala", "timezone": "Pacific/Honolulu"}
    assert (await api("carol", "POST", "v1", "calendar", "sites", body=body))[0] == 403
    status, site = await api("dave", "POST", "v1", "calendar", "sites", body=body)
    assert status == 201 and site["created_by"] == "dave"
    assert (await api("dave", "POST", "v1", "calendar", "sites", body=body))[0] == 409
    assert (await api("carol", "GET", "v1", "calendar", "sites", "ogg"))[1]["name"] == "Haleakala"
    bad = {"code": "x1", "name": "X", "timezone": "Mars/Base"}
    assert (await api("dave", "POST", "v1", "calendar", "sites", body=bad))[0] == 400


async def test_book_get_list(api: Any) -> None:
    status, r = await _book(api, "bob", 0, 2, note="first light")
    assert status == 201
    assert set(r) == {"id", "site", "start", "end", "title", "type", "origin", "external_id",
                      "creator_id", "creator_name", "project_id", "note", "status", "sequence",
                      "version", "created", "modified", "cancelled_at"}
    assert (r["creator_id"], r["title"], r["start"], r["end"]) == ("bob", "Bob", iso(0), iso(2))
    status, got = await api("carol", "GET", "v1", *R, r["id"])
    assert status == 200 and got == r
    status, rows = await api("carol", "GET", "v1", *R,
                             params={"site": "saf", "start": iso(1), "end": iso(1.5)})
    assert [x["id"] for x in rows] == [r["id"]]
    status, rows = await api("carol", "GET", "v1", *R, "at", params={"site": "saf", "time": iso(2)})
    assert rows == []
    status, rows = await api("carol", "GET", "v1", "calendar", "users", "bob", "reservations",
                             params={"ending_after": iso(1)})
    assert [x["id"] for x in rows] == [r["id"]]


async def test_conflict_and_validate(api: Any) -> None:
    _, first = await _book(api, "bob", 0, 2)
    status, err = await _book(api, "carol", 1, 3)
    assert status == 409 and [c["id"] for c in err["details"]["conflicts"]] == [first["id"]]
    body = {"site": "saf", "start": iso(1), "end": iso(3)}
    status, ans = await api("carol", "POST", "v1", "calendar", "validate", body=body)
    assert status == 200 and ans["ok"] is False and ans["conflicts"][0]["id"] == first["id"]
    body = {"site": "saf", "start": iso(2), "end": iso(3)}
    assert (await api("carol", "POST", "v1", "calendar", "validate", body=body))[1]["ok"]
    assert (await _book(api, "carol", 2, 3))[0] == 201


@pytest.mark.parametrize("who,status", [("carol", 403), ("bob", 200), ("dave", 200),
                                        ("alice", 200)])
async def test_permission_matrix(api: Any, who: str, status: int) -> None:
    _, r = await _book(api, "bob", 0, 2)
    path = (*R, r["id"])
    assert (await api(who, "PATCH", "v1", *path, body={"title": "mine"}))[0] == status
    assert (await api(who, "DELETE", "v1", *path))[0] == (204 if status == 200 else 403)


async def test_versions_and_if_match(api: Any) -> None:
    _, r = await _book(api, "bob", 0, 2)
    path = (*R, r["id"])
    status, r2 = await api("bob", "PATCH", "v1", *path, body={"note": "a", "version": 1})
    assert status == 200 and r2["version"] == 2 and r2["sequence"] == 1
    status, err = await api("bob", "PATCH", "v1", *path, body={"note": "b", "version": 1})
    assert status == 409 and err["details"]["current"]["version"] == 2
    status, _ = await api("bob", "PATCH", "v1", *path, body={"note": "c"},
                          headers={"If-Match": '"1"'})
    assert status == 409
    assert (await api("bob", "DELETE", "v1", *path, headers={"If-Match": '"1"'}))[0] == 409
    assert (await api("bob", "DELETE", "v1", *path, headers={"If-Match": '"2"'}))[0] == 204
    _, gone = await api("bob", "GET", "v1", *path)
    assert gone["status"] == "cancelled" and gone["sequence"] == 2


@pytest.mark.parametrize("body", [
    {"site": "saf", "start": iso(0), "end": iso(0)},
    {"site": "saf", "start": iso(2), "end": iso(1)},
    {"site": "saf", "start": "2030-01-01T00:00:00", "end": iso(1)},
    {"site": "saf", "start": "yesterday", "end": iso(1)},
    {"site": "SAF!", "start": iso(0), "end": iso(1)},
    {"site": "saf", "start": iso(0), "end": iso(1), "creator_id": "carol"},
    {"site": "saf", "start": iso(0), "end": iso(1), "type": "vacation"},
    {"start": iso(0), "end": iso(1)},
], ids=["zero", "negative", "naive", "garbage", "bad-site", "creator-in-body", "bad-type",
        "no-site"])
async def test_bad_bookings_are_400(api: Any, body: Any) -> None:
    status, err = await api("bob", "POST", "v1", *R, body=body)
    assert status == 400 and err["reason"] == "invalid"


async def test_bad_input_elsewhere(api: Any) -> None:
    assert (await api("bob", "POST", "v1", *R, raw_body=b"{nope"))[0] == 400
    assert (await api("bob", "POST", "v1", *R, raw_body=b"[1]"))[0] == 400
    assert (await api("bob", "GET", "v1", *R, params={"site": "saf"}))[0] == 400
    assert (await api("bob", "GET", "v1", *R,
                      params={"start": iso(1), "end": iso(0)}))[0] == 400
    assert (await api("bob", "GET", "v1", *R, "at", params={"site": "saf", "time": "x"}))[0] == 400
    assert (await api("bob", "GET", "v1", *R, "a" * 32))[0] == 404
    assert (await _book(api, "bob", 0, 1, site="nowhere"))[0] == 404
    _, r = await _book(api, "bob", 0, 1)
    assert (await api("bob", "PATCH", "v1", *R, r["id"], body={"start": None}))[0] == 400
    assert (await api("bob", "PATCH", "v1", *R, r["id"], body={"bogus": 1}))[0] == 400
    assert (await api("bob", "PATCH", "v1", *R, r["id"], body={},
                      headers={"If-Match": "abc"}))[0] == 400


async def test_login_required(api: Any) -> None:
    assert (await api(None, "GET", "v1", "calendar", "sites"))[0] == 403
    assert (await _book(api, None, 0, 1))[0] == 403  # type: ignore[arg-type]




async def test_live_feed_gets_every_booking_change(api: Any, jp_serverapp: Any, http_server: Any,
                                                   jp_http_port: Any, jp_base_url: Any) -> None:
    """The handlers call the activity listeners after their reply (not inside the commit):
    a live subscriber still receives the ADD, MOD and DEL of a reservation, in order, and
    GET activity right after the reply already lists the booking."""
    import asyncio
    import json

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    from ..conftest import USERS

    url = f"ws://127.0.0.1:{jp_http_port}{jp_base_url}astro-ops/api/v1/live"
    ws = await websocket_connect(HTTPRequest(
        url, headers={"Authorization": f"token {USERS['bob'][0]}"}))
    await ws.write_message(json.dumps({"type": "subscribe", "since": None,
                                       "filters": {"object_type": ["RESERVATION"]}}))
    await asyncio.sleep(0.2)  # the subscription is registered before the writes
    status, r = await _book(api, "bob", 0, 1)
    assert status == 201
    status, listed = await api("bob", "GET", "v1", "activity",
                               params={"object_id": r["id"]})
    assert status == 200 and [e["action"] for e in listed] == ["ADD"]
    moved = await api("bob", "PATCH", "v1", *R, r["id"], body={"note": "moved", "version": 1})
    assert moved[0] == 200
    assert (await api("bob", "DELETE", "v1", *R, r["id"]))[0] == 204
    got = []
    while len(got) < 3:
        msg = json.loads(await asyncio.wait_for(ws.read_message(), 15))
        assert msg["type"] == "event", msg
        got.append((msg["event"]["action"], msg["event"]["object"]["id"]))
    ws.close()
    assert got == [("ADD", r["id"]), ("MOD", r["id"]), ("DEL", r["id"])]
