"""Activity REST API through the real Jupyter server (jp_fetch)."""

from __future__ import annotations

import asyncio
import json

import pytest

from ..conftest import USERS

ROUTES = [
    ("GET", ("v1", "activity")), ("POST", ("v1", "activity")),
    ("GET", ("v1", "activity", "0" * 32)), ("GET", ("v1", "requests")),
    ("PUT", ("v1", "requests", "0" * 32)), ("GET", ("v1", "projects")),
    ("POST", ("v1", "projects")), ("GET", ("v1", "projects", "1")),
    ("POST", ("v1", "projects", "1", "members")),
]


async def _project(api, name="Deep Field", pi="bob"):
    status, body = await api("alice", "POST", "v1", "projects", body={"name": name, "pi": pi})
    assert status == 201, body
    return body["id"]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_no_login_is_403(api, method, path):
    status, _ = await api(None, method, *path, body={})
    assert status == 403


async def test_projects_create_get_members(api, jp_base_url):
    status, body = await api("bob", "POST", "v1", "projects", body={"name": "Mine"})
    assert status == 403  # not an admin
    pid = await _project(api)
    status, body = await api("dave", "GET", "v1", "projects", str(pid))
    assert status == 200 and body["members"] == [{"username": "bob", "role": "pi"}]
    assert (await api("dave", "GET", "v1", "projects", "999"))[0] == 404
    assert (await api("alice", "POST", "v1", "projects", body={"name": "Deep Field"}))[0] == 409
    assert (await api("carol", "POST", "v1", "projects", str(pid), "members",
                      body={"username": "carol"}))[0] == 403
    status, body = await api("bob", "POST", "v1", "projects", str(pid), "members",
                             body={"username": "carol"})
    assert status == 201 and {"username": "carol", "role": "member"} in body["members"]
    status, listing = await api("carol", "GET", "v1", "projects")
    assert status == 200 and [p["name"] for p in listing] == ["Deep Field"]


async def test_request_decide_flow_and_409_on_second_decision(api):
    pid = await _project(api)
    status, ev = await api("carol", "POST", "v1", "activity",
                           body={"kind": "project.join", "project_id": pid, "message": "hi"})
    assert status == 201 and ev["status"] == "PENDING"
    status, pending = await api("bob", "GET", "v1", "requests")
    assert status == 200 and [p["id"] for p in pending] == [ev["id"]]
    assert (await api("dave", "GET", "v1", "requests"))[1] == []
    status, _ = await api("carol", "PUT", "v1", "requests", ev["id"],
                          body={"decision": "approve"})
    assert status == 403  # cannot approve one's own request
    status, done = await api("bob", "PUT", "v1", "requests", ev["id"],
                             body={"decision": "approve", "message": "ok"})
    assert status == 200 and done["status"] == "APPROVED" and done["manager"] == "bob"
    status, body = await api("alice", "PUT", "v1", "requests", ev["id"],
                             body={"decision": "deny"})
    assert status == 409 and body["reason"] == "conflict"
    status, one = await api("carol", "GET", "v1", "activity", ev["id"])
    assert status == 200 and one["id"] == ev["id"]
    assert (await api("dave", "GET", "v1", "activity", ev["id"]))[0] == 404


async def test_creates_answer_201_with_location(jp_fetch, jp_base_url):
    def as_user(user):
        return {"Authorization": f"token {USERS[user][0]}"}

    resp = await jp_fetch("astro-ops", "api", "v1", "activity", method="POST",
                          headers=as_user("carol"),
                          body=json.dumps({"kind": "project.create", "name": "Halo"}))
    ev = json.loads(resp.body)
    assert resp.code == 201 and ev["status"] == "PENDING"
    assert resp.headers["Location"] == f"{jp_base_url}astro-ops/api/v1/activity/{ev['id']}"
    resp = await jp_fetch("astro-ops", "api", "v1", "projects", method="POST",
                          headers=as_user("alice"), body=json.dumps({"name": "Rings"}))
    project = json.loads(resp.body)
    assert resp.code == 201
    assert resp.headers["Location"] == f"{jp_base_url}astro-ops/api/v1/projects/{project['id']}"
    resp = await jp_fetch("astro-ops", "api", "v1", "projects", str(project["id"]), method="GET",
                          headers=as_user("dave"))
    assert json.loads(resp.body)["members"] == [{"username": "alice", "role": "pi"}]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b'"text"'])
async def test_malformed_json_is_400(api, raw):
    for path in (("v1", "activity"), ("v1", "projects")):
        status, body = await api("alice", "POST", *path, raw_body=raw)
        assert status == 400, (path, body)
    status, _ = await api("alice", "PUT", "v1", "requests", "a" * 32, raw_body=raw)
    assert status == 400


@pytest.mark.parametrize("body", [
    {"kind": "project.steal"}, {"kind": "project.join", "project_id": "x"},
    {"kind": "project.create", "name": "!bad"}, {"kind": "project.create", "extra": 1},
    {"kind": "project.join"}, {"kind": "project.join", "project_id": 12345},
    {"kind": "project.create"}, {"kind": "project.create", "name": "x" * 500},
])
async def test_bad_request_fields_are_400(api, body):
    status, resp = await api("carol", "POST", "v1", "activity", body=body)
    assert status == 400 and resp["reason"] == "invalid"


async def test_bad_decision_and_member_fields_are_400(api):
    pid = await _project(api)
    _, ev = await api("carol", "POST", "v1", "activity",
                      body={"kind": "project.join", "project_id": pid})
    for body in ({"decision": "maybe"}, {}, {"decision": "approve", "x": 1}):
        assert (await api("bob", "PUT", "v1", "requests", ev["id"], body=body))[0] == 400
    for body in ({"username": ""}, {"username": "carol", "role": "king"}, {"user": "carol"}):
        assert (await api("bob", "POST", "v1", "projects", str(pid), "members",
                          body=body))[0] == 400


@pytest.mark.parametrize("params", [
    {"status": "DONE"}, {"limit": "0"}, {"limit": "x"}, {"since": "-1"}, {"colour": "red"},
    {"project_id": "abc"},
])
async def test_bad_query_is_400(api, params):
    status, _ = await api("bob", "GET", "v1", "activity", params=params)
    assert status == 400


async def test_list_filters_and_user_param(api):
    pid = await _project(api)
    await api("carol", "POST", "v1", "activity", body={"kind": "project.join", "project_id": pid})
    status, evs = await api("carol", "GET", "v1", "activity",
                            params={"status": "PENDING,NEW", "action": "REQ"})
    assert status == 200 and len(evs) == 1 and evs[0]["user"] == "carol"
    assert (await api("carol", "GET", "v1", "activity", params={"user": "bob"}))[0] == 403
    assert (await api("carol", "GET", "v1", "activity", params={"user": "carol"}))[0] == 200
    status, evs = await api("alice", "GET", "v1", "activity", params={"user": "carol"})
    assert status == 200 and len(evs) == 1
    status, evs = await api("bob", "GET", "v1", "activity",
                            params={"object_type": "PROJECT", "since": "0", "limit": "5"})
    assert status == 200 and {e["user"] for e in evs} == {"alice", "carol"}  # bob leads it
    assert (await api("bob", "GET", "v1", "activity", "f" * 32))[0] == 404


async def test_approved_request_is_carried_out_by_the_server_worker(api, jp_serverapp):
    # pytest-jupyter never runs the server's post-start hook; start the services as it would
    services = jp_serverapp.web_app.settings["astro_ops_services"]
    await services.start()
    try:
        await _carried_out(api)
    finally:
        await services.stop()


async def _carried_out(api):
    pid = await _project(api)
    _, ev = await api("carol", "POST", "v1", "activity",
                      body={"kind": "project.join", "project_id": pid})
    await api("bob", "PUT", "v1", "requests", ev["id"], body={"decision": "approve"})
    for _ in range(100):
        _, now = await api("carol", "GET", "v1", "activity", ev["id"])
        if now["status"] == "SUCCESS":
            break
        await asyncio.sleep(0.1)
    assert now["status"] == "SUCCESS"
    _, project = await api("carol", "GET", "v1", "projects", str(pid))
    assert {"username": "carol", "role": "member"} in project["members"]


async def test_an_event_carries_the_display_name_of_its_login(api):
    """``user_name`` comes from the Jupyter login (``display_name``), never from the request."""
    status, ev = await api("carol", "POST", "v1", "activity",
                           body={"kind": "project.create", "name": "Named Survey"})
    assert status == 201
    assert (ev["user"], ev["user_name"]) == ("carol", "Carol")
    _, seen = await api("alice", "GET", "v1", "activity", ev["id"])
    assert seen["user_name"] == "Carol"
    sneaky = {"kind": "project.create", "name": "Other Survey", "user_name": "Alice"}
    assert (await api("carol", "POST", "v1", "activity", body=sneaky))[0] == 400


async def test_get_activity_etag_is_the_sha1_of_the_body_hit_or_miss(jp_fetch):
    import hashlib

    from tornado.httpclient import HTTPClientError

    auth = {"Authorization": f"token {USERS['bob'][0]}"}
    seen = []
    for _ in range(3):  # a miss, then (with the feed running) cached hits
        resp = await jp_fetch("astro-ops", "api", "v1", "activity", headers=auth)
        assert resp.headers["ETag"] == f'"{hashlib.sha1(resp.body).hexdigest()}"'
        seen.append(resp.headers["ETag"])
    assert len(set(seen)) == 1
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("astro-ops", "api", "v1", "activity",
                       headers={**auth, "If-None-Match": seen[0]})
    assert err.value.code == 304
