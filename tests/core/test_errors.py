"""The base handler's error map on real routes: bad input is a 4xx JSON body, never a 500."""

from __future__ import annotations

import pytest


def _is_error_body(body, reason: str) -> bool:
    return (isinstance(body, dict) and isinstance(body.get("message"), str)
            and body["message"] != "" and body.get("reason") == reason)


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe\x00", b"[1, 2", b"{\"kind\": "])
async def test_malformed_json_is_400_json(api, raw):
    status, body = await api("bob", "POST", "v1", "activity", raw_body=raw)
    assert status == 400
    assert _is_error_body(body, "invalid"), body


async def test_json_that_is_not_an_object_is_400(api):
    for raw in (b"[]", b"42", b"\"text\"", b"null"):
        status, body = await api("bob", "POST", "v1", "activity", raw_body=raw)
        assert status == 400, raw
        assert _is_error_body(body, "invalid"), body


async def test_bad_fields_are_400_with_details(api):
    status, body = await api("bob", "POST", "v1", "activity",
                             body={"kind": "project.teleport", "surprise": 1})
    assert status == 400
    assert _is_error_body(body, "invalid")
    fields = {d["field"] for d in body["details"]}
    assert "kind" in fields


async def test_bad_query_arguments_are_400(api):
    status, body = await api("bob", "GET", "v1", "activity", params={"limit": "lots"})
    assert status == 400
    assert _is_error_body(body, "invalid"), body
    status, body = await api("bob", "GET", "v1", "activity", params={"since": "-5"})
    assert status == 400


async def test_missing_object_is_404_json(api):
    status, body = await api("bob", "GET", "v1", "activity", "0" * 32)
    assert status == 404
    assert _is_error_body(body, "not_found"), body


async def test_forbidden_is_403_json(api):
    # Creating a project directly is for admins; others send a request instead.
    status, body = await api("bob", "POST", "v1", "projects", body={"name": "Bob's own"})
    assert status in (400, 403)
    status, body = await api("bob", "POST", "v1", "projects", body={"name": "Bobs project"})
    assert status == 403
    assert _is_error_body(body, "forbidden"), body


async def test_conflict_is_409_json(api):
    status, _ = await api("alice", "POST", "v1", "projects", body={"name": "Twice"})
    assert status == 201
    status, body = await api("alice", "POST", "v1", "projects", body={"name": "Twice"})
    assert status == 409
    assert _is_error_body(body, "conflict"), body


async def test_no_login_is_403(api):
    status, _ = await api(None, "POST", "v1", "activity", body={"kind": "project.join"})
    assert status == 403


async def test_unknown_path_under_the_api_is_404(api):
    status, _ = await api("bob", "GET", "v1", "no-such-thing")
    assert status == 404
