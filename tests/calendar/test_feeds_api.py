"""iCal feeds over REST: feed tokens (create/rotate/revoke), the access matrix of the ``.ics``
feeds (no credentials, bad token, own token, another user's feed, admin, Jupyter login),
content type, caching (ETag -> 304) and the OpenAPI fragment of these routes."""

from __future__ import annotations

import json
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from pydantic.json_schema import models_json_schema
from tornado.httpclient import HTTPClientError, HTTPResponse

from jupyter_astro_ops.calendar import ical_handlers, import_handlers
from jupyter_astro_ops.calendar.lco import schemas as lco_schemas
from jupyter_astro_ops.calendar.schemas import FeedTokenOut
from jupyter_astro_ops.core.timeutil import isoformat, utcnow
from jupyter_astro_ops.ical import schemas as ical_schemas
from jupyter_astro_ops.web.openapi import REF_TEMPLATE, route_to_openapi_path, schema_models

from ..conftest import USERS

CAL = ("v1", "calendar")
UID_DOMAIN = "obs.example"
ALL_ROUTES = [*ical_handlers.routes, *import_handlers.routes]
SCHEDULE = (Path(__file__).parent / "data" / "schedule_v1.json").as_uri()


@pytest.fixture
def astro_config(astro_config: dict[str, Any]) -> dict[str, Any]:
    """The calendar's sites plus feed config (``c.ICalFeeds.*`` reaches the handlers)."""
    return {**astro_config, "ICalFeeds": {"uid_domain": UID_DOMAIN, "refresh_minutes": 10},
            "LcoImporter": {"sources": {"saf": SCHEDULE}}}


@pytest.fixture
def feed_routes(jp_serverapp: Any) -> None:
    """The server's extension serves every feed and import route (``app.py`` wires them)."""
    ext = next(iter(jp_serverapp.extension_manager.extension_apps["jupyter_astro_ops"]))
    wired = {pattern for pattern, *_ in ext.handlers}
    assert [p for p, _ in ALL_ROUTES if p not in wired] == []


async def fetch(jp_fetch: Any, *path: str, feed_token: str | None = None,
                login: str | None = None, headers: dict[str, str] | None = None
                ) -> tuple[int, HTTPResponse]:
    """GET a calendar path with a feed token and/or a Jupyter login (or neither)."""
    hdrs = {"Authorization": f"token {USERS[login][0]}" if login else "", **(headers or {})}
    params = {"feed_token": feed_token} if feed_token is not None else None
    try:
        resp = await jp_fetch("astro-ops", "api", *CAL, *path, headers=hdrs, params=params)
    except HTTPClientError as err:
        assert err.response is not None
        return err.code, err.response
    return resp.code, resp


async def new_token(api: Any, user: str) -> str:
    status, body = await api(user, "POST", *CAL, "feed-token")
    assert status == 201, body
    return str(body["token"])


def hours_ahead(h: float) -> str:
    base = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    return isoformat(base + timedelta(hours=h))


async def book(api: Any, user: str, start: float, end: float, **extra: Any) -> dict[str, Any]:
    body = {"site": "saf", "start": hours_ahead(start), "end": hours_ahead(end), **extra}
    status, r = await api(user, "POST", *CAL, "reservations", body=body)
    assert status == 201, r
    return dict(r)


def uids(resp: HTTPResponse) -> dict[str, Any]:
    return {str(e["uid"]): e for e in Calendar.from_ical(resp.body).walk("VEVENT")}


async def test_feed_token_lifecycle(api: Any, jp_fetch: Any, feed_routes: None) -> None:
    assert await api("bob", "GET", *CAL, "feed-token") == (200, {"active": False,
                                                                  "created": None})
    assert (await api(None, "POST", *CAL, "feed-token"))[0] == 403
    status, body = await api("bob", "POST", *CAL, "feed-token")
    assert status == 201 and len(body["token"]) >= 40
    assert body["user_feed"].endswith(f"/calendar/users/bob.ics?feed_token={body['token']}")
    assert set(body["site_feeds"]) == {"saf", "mrc"}
    assert "/astro-ops/api/v1/calendar/sites/saf.ics?feed_token=" in body["site_feeds"]["saf"]
    status, info = await api("bob", "GET", *CAL, "feed-token")
    assert status == 200 and info["active"] is True and "token" not in info
    old = body["token"]
    new = await new_token(api, "bob")  # rotate
    assert new != old
    assert (await fetch(jp_fetch, "users", "bob.ics", feed_token=old))[0] == 403
    assert (await fetch(jp_fetch, "users", "bob.ics", feed_token=new))[0] == 200
    assert (await api("bob", "DELETE", *CAL, "feed-token"))[0] == 204
    assert (await fetch(jp_fetch, "users", "bob.ics", feed_token=new))[0] == 403
    assert (await api("bob", "GET", *CAL, "feed-token"))[1]["active"] is False
    assert (await api("bob", "DELETE", *CAL, "feed-token"))[0] == 204  # idempotent


async def test_access_matrix(api: Any, jp_fetch: Any, feed_routes: None) -> None:
    tokens = {u: await new_token(api, u) for u in ("bob", "carol", "alice", "dave")}
    cases = [
        # (path, feed token of, Jupyter login, expected status)
        (("sites", "saf.ics"), None, None, 403),
        (("sites", "saf.ics"), "bad", None, 403),
        (("users", "bob.ics"), None, None, 403),
        (("users", "bob.ics"), "bad", "bob", 403),  # a bad token is refused even if logged in
        (("sites", "saf.ics"), "bob", None, 200),
        (("sites", "nowhere.ics"), "bob", None, 404),
        (("users", "bob.ics"), "bob", None, 200),
        (("users", "carol.ics"), "bob", None, 403),
        (("users", "bob.ics"), "carol", None, 403),
        (("users", "carol.ics"), "carol", None, 200),
        (("users", "bob.ics"), "alice", None, 200),  # admin (through a group)
        (("users", "bob.ics"), "dave", None, 200),  # calendar_admin
        (("sites", "mrc.ics"), None, "carol", 200),  # Jupyter login, no feed token
        (("users", "carol.ics"), None, "carol", 200),
        (("users", "bob.ics"), None, "carol", 403),
        (("users", "bob.ics"), None, "alice", 200),
    ]
    for path, owner, login, expected in cases:
        token = tokens.get(owner or "", owner)
        status, resp = await fetch(jp_fetch, *path, feed_token=token, login=login)
        assert status == expected, (path, owner, login, status, resp.body[:200])
        if status >= 400:  # errors are JSON, never an HTML login page
            assert resp.headers["Content-Type"].startswith("application/json")
            assert json.loads(resp.body)["message"]


async def test_feed_token_reads_feeds_only(api: Any, jp_fetch: Any, feed_routes: None) -> None:
    token = await new_token(api, "bob")
    status, _ = await fetch(jp_fetch, "reservations", feed_token=token,
                            headers={"X-Test": "1"})
    assert status == 403
    status, _ = await fetch(jp_fetch, "feed-token", feed_token=token)
    assert status == 403


async def test_site_feed_content_and_caching(api: Any, jp_fetch: Any,
                                             feed_routes: None) -> None:
    token = await new_token(api, "carol")
    r = await book(api, "bob", 0, 2, note="flats at dusk")
    status, resp = await fetch(jp_fetch, "sites", "saf.ics", feed_token=token)
    assert status == 200
    assert resp.headers["Content-Type"].startswith("text/calendar")
    assert resp.headers["Cache-Control"] == "private, max-age=600"
    last_modified = resp.headers["Last-Modified"]
    etag = resp.headers["ETag"]
    events = uids(resp)
    ev = events[f"{r['id']}@{UID_DOMAIN}"]
    assert isoformat(ev.decoded("dtstart")) == r["start"] and int(ev["sequence"]) == 0
    assert "flats at dusk" in str(ev["description"])
    status, resp = await fetch(jp_fetch, "sites", "saf.ics", feed_token=token,
                               headers={"If-None-Match": etag})
    assert status == 304 and not resp.body
    # Last-Modified is informative only: a booking leaving the window does not change it
    status, _ = await fetch(jp_fetch, "sites", "saf.ics", feed_token=token,
                            headers={"If-Modified-Since": last_modified})
    assert status == 200
    status, _ = await api("bob", "PATCH", *CAL, "reservations", r["id"],
                          body={"title": "Moved", "start": hours_ahead(1),
                                "end": hours_ahead(3)})
    assert status == 200
    status, resp = await fetch(jp_fetch, "sites", "saf.ics", feed_token=token,
                               headers={"If-None-Match": etag})
    assert status == 200 and resp.headers["ETag"] != etag
    ev = uids(resp)[f"{r['id']}@{UID_DOMAIN}"]
    assert int(ev["sequence"]) == 1 and str(ev["summary"]) == "Moved"
    assert (await api("bob", "DELETE", *CAL, "reservations", r["id"]))[0] == 204
    status, resp = await fetch(jp_fetch, "users", "bob.ics", login="bob")
    ev = uids(resp)[f"{r['id']}@{UID_DOMAIN}"]
    assert str(ev["status"]) == "CANCELLED" and int(ev["sequence"]) == 2


async def test_import_status_and_run_now(api: Any, feed_routes: None) -> None:
    assert await api("carol", "GET", *CAL, "imports") == (200, [])
    assert (await api("bob", "POST", *CAL, "imports", "saf"))[0] == 403
    status, dry = await api("dave", "POST", *CAL, "imports", "saf", body={"dry_run": True})
    assert status == 200 and dry["dry_run"] and len(dry["added"]) == 3
    assert (await api("carol", "GET", *CAL, "imports"))[1] == []
    status, done = await api("dave", "POST", *CAL, "imports", "saf")
    assert status == 200 and sorted(done["added"]) == ["1001", "1002", "1003"]
    status, state = await api("carol", "GET", *CAL, "imports")
    assert [(s["site"], s["source"], s["observations"]) for s in state] == [
        ("saf", SCHEDULE, 3)]
    again = (await api("alice", "POST", *CAL, "imports", "saf"))[1]
    assert again["schedule_unchanged"] and again["added"] == []
    status, rows = await api("carol", "GET", *CAL, "reservations",
                             params={"site": "saf", "start": "2030-01-01T00:00:00Z",
                                     "end": "2030-01-02T00:00:00Z"})
    assert {(r["origin"], r["creator_id"]) for r in rows} == {("lco", "importer")}
    assert (await api("dave", "POST", *CAL, "imports", "mrc"))[0] == 404  # no source
    assert (await api("dave", "POST", *CAL, "imports", "saf", body={"url": "x"}))[0] == 400


def test_openapi_documents_the_feed_routes() -> None:
    """Every feed/import route and feed schema is in the calendar's OpenAPI fragment."""
    package = resources.files("jupyter_astro_ops.calendar")
    doc: dict[str, Any] = json.loads(package.joinpath("openapi.json").read_text("utf-8"))
    for pattern, handler in ALL_ROUTES:
        path_doc = doc["paths"][route_to_openapi_path(pattern)]
        for verb in ("get", "post", "delete"):
            if verb in handler.__dict__:
                assert verb in path_doc, (pattern, verb)
    models = [*schema_models(ical_schemas), *schema_models(lco_schemas), FeedTokenOut]
    _, defs = models_json_schema([(m, "serialization") for m in models],
                                 ref_template=REF_TEMPLATE)
    for name, schema in defs["$defs"].items():
        assert doc["schemas"].get(name) == schema, name
