"""The input limits and the error shape, one regression test per defect class of issue 12.

Each class was a 500 somewhere; each is now a 400 (or the right 4xx) naming the problem, in
the one JSON error shape, on the routes where it was found (REST and Photon Ranch compat).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from jupyter_astro_ops.web.inputs import MAX_BODY_BYTES, MAX_JSON_DEPTH

from ..conftest import USERS

SITES = {"saf": {"name": "Santa Fe", "timezone": "America/Denver"}}
OVERFLOWING = ["9999-12-31T23:00:00-14:00", "0001-01-01T00:00:00+14:00"]
HUGE_INTS = [2**63, -(2**63) - 1, 10**30]


@pytest.fixture
def astro_config(astro_config: dict[str, Any]) -> dict[str, Any]:
    return {**astro_config, "CalendarService": {"sites": SITES}}


def is_error(body: Any, reason: str | None = None) -> bool:
    return (isinstance(body, dict) and isinstance(body.get("message"), str)
            and isinstance(body.get("reason"), str)
            and (reason is None or body["reason"] == reason))


@pytest.mark.parametrize("raw", ["[" * 100_000, '{"a":' * 60_000 + "1" + "}" * 60_000,
                                 '{"a": ' + "[" * 40 + "1" + "]" * 40 + "}"])
@pytest.mark.parametrize("route", [("v1", "activity"), ("v1", "calendar", "compat", "newevent")])
async def test_deep_json_is_a_400(api: Any, raw: str, route: tuple[str, ...]) -> None:
    status, body = await api("bob", "POST", *route, raw_body=raw.encode())
    assert status == 400 and is_error(body, "invalid")
    assert "nested deeper" in body["message"] or "not valid JSON" in body["message"]
    assert MAX_JSON_DEPTH == 32


async def test_a_body_past_the_limit_is_a_400(api: Any) -> None:
    raw = json.dumps({"kind": "project.create", "name": "x" * MAX_BODY_BYTES}).encode()
    status, body = await api("bob", "POST", "v1", "activity", raw_body=raw)
    assert status == 400 and "larger than" in body["message"]


@pytest.mark.parametrize("when", OVERFLOWING)
async def test_times_that_overflow_are_a_400_naming_the_field(api: Any, when: str) -> None:
    ok = "2030-01-01T00:00:00Z"
    status, body = await api("bob", "POST", "v1", "calendar", "reservations",
                             body={"site": "saf", "start": when, "end": ok})
    assert status == 400 and body["details"][0]["field"] == "start"
    status, body = await api("bob", "GET", "v1", "calendar", "reservations",
                             params={"start": ok, "end": when})
    assert status == 400 and body["details"][0]["field"] == "end"
    status, body = await api("bob", "GET", "v1", "calendar", "reservations", "at",
                             params={"site": "saf", "time": when})
    assert status == 400 and is_error(body)
    status, body = await api("bob", "POST", "v1", "calendar", "compat", "newevent",
                             body={"site": "saf", "start": when, "end": ok})
    assert status == 400 and is_error(body)
    status, body = await api("bob", "POST", "v1", "calendar", "compat", "get-event-at-time",
                             body={"site": "saf", "time": when})
    assert status == 400 and is_error(body)


@pytest.mark.parametrize("number", HUGE_INTS)
async def test_integers_past_the_database_range_are_a_400(api: Any, number: int) -> None:
    for name in ("since", "project_id"):
        status, body = await api("bob", "GET", "v1", "activity", params={name: str(number)})
        assert status == 400 and body["details"][0]["field"] == name
    status, body = await api("bob", "POST", "v1", "activity",
                             body={"kind": "project.join", "project_id": number})
    assert status == 400 and is_error(body, "invalid")
    status, body = await api("bob", "POST", "v1", "calendar", "reservations", body={
        "site": "saf", "start": "2030-01-01T00:00Z", "end": "2030-01-01T01:00Z",
        "project_id": number})
    assert status == 400 and body["details"][0]["field"] == "project_id"


@pytest.mark.parametrize("bad", ["\ud800", "a\x00b"])
@pytest.mark.parametrize(("endpoint", "field"), [("siteevents", "site"),
                                                 ("user-events-ending-after-time", "user_id"),
                                                 ("add-projects-to-events", "project_id")])
async def test_unstorable_strings_are_a_400_everywhere(api: Any, bad: str, endpoint: str,
                                                       field: str) -> None:
    body = {"site": "saf", "start": "2030-01-01T00:00Z", "end": "2030-01-02T00:00Z",
            "user_id": "bob", "time": "2030-01-01T00:00Z", "project_id": "none",
            "events": [{"event_id": "0" * 32}], field: bad}
    status, answer = await api("bob", "POST", "v1", "calendar", "compat", endpoint,
                               raw_body=json.dumps(body).encode("ascii"))
    assert status == 400 and is_error(answer, "invalid")


@pytest.mark.parametrize("digits", [4000, 5000])
async def test_a_long_numeric_if_match_is_a_400(api: Any, digits: int) -> None:
    status, booked = await api("bob", "POST", "v1", "calendar", "reservations", body={
        "site": "saf", "start": "2031-01-01T00:00Z", "end": "2031-01-01T01:00Z"})
    assert status == 201
    status, body = await api("bob", "PATCH", "v1", "calendar", "reservations", booked["id"],
                             body={"title": "x"}, headers={"If-Match": "9" * digits})
    assert status == 400 and "If-Match" in body["message"]
    status, _ = await api("bob", "PATCH", "v1", "calendar", "reservations", booked["id"],
                          body={"title": "x"}, headers={"If-Match": '"99"'})
    assert status == 409  # a version, just not the current one


@pytest.mark.parametrize("path", [("v1", "calendar", "reservations", "0"), ("v1", "nothing"),
                                  ("v2", "activity"), ("v1", "activity", "a" * 32, "extra")])
async def test_unknown_api_paths_are_json_404s(api: Any, path: tuple[str, ...]) -> None:
    for user in ("bob", None):
        status, body = await api(user, "GET", *path)
        assert status == 404 and is_error(body, "not_found")


async def test_jupyters_own_refusals_use_the_error_shape(jp_fetch: Any) -> None:
    from tornado.httpclient import HTTPClientError

    async def fetch(*path: str, **kwargs: Any) -> tuple[int, Any, Any]:
        try:
            resp = await jp_fetch("astro-ops", "api", *path, **kwargs)
        except HTTPClientError as err:
            assert err.response is not None
            return err.code, json.loads(err.response.body), err.response.headers
        return resp.code, json.loads(resp.body), resp.headers

    status, body, _ = await fetch("v1", "activity", headers={"Authorization": ""})
    assert status == 403 and is_error(body, "forbidden")
    auth = {"Authorization": f"token {USERS['bob'][0]}"}
    status, body, headers = await fetch("v1", "activity", method="PUT", body="{}",
                                        headers=auth)
    assert status == 405 and is_error(body, "method_not_allowed")
    assert set(headers["Allow"].split(", ")) >= {"GET", "POST"}


async def test_jupyterlabs_cache_buster_is_ignored_but_unknown_names_are_not(
        jp_fetch: Any) -> None:
    """JupyterLab's ``ServerConnection`` appends ``?<milliseconds>`` to GETs."""
    from tornado.httpclient import HTTPClientError

    auth = {"Authorization": f"token {USERS['bob'][0]}"}
    resp = await jp_fetch("astro-ops", "api", "v1", "activity", params={"1764607051234": ""},
                          headers=auth)
    assert resp.code == 200
    for params in ({"1764607051234": "1"}, {"soon": ""}):
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch("astro-ops", "api", "v1", "activity", params=params, headers=auth)
        assert err.value.code == 400
