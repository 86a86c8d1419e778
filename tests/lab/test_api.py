"""Kernel tokens, dashboards and ``me`` through a real server (jp_fetch) and real kernels."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from ..conftest import USERS

BOB, CAROL, ALICE = USERS["bob"][0], USERS["carol"][0], USERS["alice"][0]
TOKENS = ("astro-ops", "api", "v1", "kernel-tokens")


@pytest.fixture
def astro_config(astro_config: dict[str, Any], jp_root_dir: Any) -> dict[str, Any]:
    # terminals too, so that "refused" below is a 403 from auth and not a missing route
    (jp_root_dir / "notes.txt").write_text("hello\n")
    return {**astro_config, "ServerApp": {"jpserver_extensions": {
        "jupyter_astro_ops": True, "jupyter_server_terminals": True}}}


async def _issue(call: Any, token: str, kernel_id: str) -> Any:
    return await call(token, "POST", *TOKENS, body={"kernel_id": kernel_id})


async def test_issue_acts_as_the_caller(call, start_kernel, jp_base_url):
    kid = await start_kernel()
    ans = await _issue(call, BOB, kid)
    assert ans.code == 201, ans.body
    assert set(ans.body) == {"kernel_id", "token", "expires"}
    assert ans.body["kernel_id"] == kid
    token = ans.body["token"]
    me = await call(token, "GET", "api", "me")
    assert me.code == 200 and me.body["identity"]["username"] == "bob"
    ours = await call(token, "GET", "astro-ops", "api", "v1", "me")
    assert ours.code == 200 and ours.body["username"] == "bob"
    assert ours.body["groups"] == ["arcops"] and "stager" in ours.body["roles"]
    jobs = await call(token, "GET", "astro-ops", "api", "v1", "staging", "jobs")
    assert jobs.code == 200 and jobs.body == []
    assert (await call(token, "GET", "api", "contents")).code == 200
    assert (await call(token, "GET", "api", "contents", "notes.txt")).code == 200
    request = await call(token, "POST", "astro-ops", "api", "v1", "activity",
                         body={"kind": "project.create", "name": "From A Kernel"})
    assert request.code == 201 and request.body["user"] == "bob"


async def test_location_and_no_store(jp_fetch, start_kernel, jp_base_url):
    kid = await start_kernel()
    resp = await jp_fetch(*TOKENS, method="POST", body=json.dumps({"kernel_id": kid}),
                          headers={"Authorization": f"token {BOB}"})
    assert resp.code == 201
    assert resp.headers["Location"] == f"{jp_base_url}astro-ops/api/v1/kernel-tokens/{kid}"
    assert resp.headers["Cache-Control"] == "no-store"


OUT_OF_SCOPE = [
    ("POST", ("api", "contents"), {"type": "notebook"}),
    ("PUT", ("api", "contents", "x.txt"), {"type": "file", "format": "text", "content": "x"}),
    ("DELETE", ("api", "contents", "notes.txt"), None),
    ("GET", ("api", "kernels"), None),
    ("GET", ("api", "sessions"), None),
    ("GET", ("api", "terminals"), None),
    ("POST", ("api", "terminals"), {}),
    ("GET", ("api", "kernelspecs"), None),
    ("GET", ("api", "status"), None),
]


async def test_refused_outside_its_scope(call, start_kernel):
    # one kernel for every case: starting one per case would triple this module's time
    kid = await start_kernel()
    token = (await _issue(call, BOB, kid)).body["token"]
    refused = []
    for method, path, body in OUT_OF_SCOPE:
        # bob's own token may do it (so the route exists and the 403 below is the scope) ...
        if method == "GET":
            assert (await call(BOB, method, *path)).code == 200, path
        # ... the kernel token may not
        ans = await call(token, method, *path, body=body)
        if ans.code != 403:
            refused.append((method, path, ans.code))
    assert refused == [], f"kernel token not refused: {refused}"


async def test_never_a_login_cookie(call, start_kernel, http_server_client, jp_http_port,
                                    jp_base_url):
    kid = await start_kernel()
    token = (await _issue(call, BOB, kid)).body["token"]
    for path in (("api", "me"), ("astro-ops", "api", "v1", "me")):
        ans = await call(token, "GET", *path)
        assert ans.code == 200
        assert not [c for c in ans.cookies if c.startswith("username-")], ans.cookies
    # ?token= in a URL does not log in either, and a path trick does not leave the scope
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    client = AsyncHTTPClient()
    resp = await client.fetch(f"{base}api/me?token={token}", raise_error=False)
    assert resp.code == 200 and not resp.headers.get_list("Set-Cookie")
    for trick in ("astro-ops/%2e%2e/api/kernels", "astro-ops/..%2fapi/kernels"):
        resp = await client.fetch(HTTPRequest(base + trick,
                                              headers={"Authorization": f"token {token}"}),
                                  raise_error=False)
        assert resp.code in (403, 404), (trick, resp.code)
        assert b"kernel_name" not in (resp.body or b"")
    # nor does the login form take it
    page = await client.fetch(base + "login", raise_error=False)
    xsrf = next(c.split(";")[0].split("=", 1)[1] for c in page.headers.get_list("Set-Cookie")
                if c.startswith("_xsrf="))
    form = await client.fetch(HTTPRequest(
        base + "login", method="POST", body=f"password={token}&_xsrf={xsrf}",
        headers={"Cookie": f"_xsrf={xsrf}"}, follow_redirects=False), raise_error=False)
    assert not [c for c in form.headers.get_list("Set-Cookie") if c.startswith("username-")]


async def test_revoked_when_the_kernel_shuts_down(call, start_kernel, owner_token, store):
    kid = await start_kernel()
    other = await start_kernel()
    token = (await _issue(call, BOB, kid)).body["token"]
    keep = (await _issue(call, BOB, other)).body["token"]
    assert store.active() == 2
    assert (await call(owner_token, "DELETE", "api", "kernels", kid)).code == 204
    # the kernel_actions event drops it from the store (not only the liveness check)
    for _ in range(50):
        if store.active() == 1:
            break
        await asyncio.sleep(0.05)
    assert store.active() == 1
    assert (await call(token, "GET", "api", "me")).code == 403
    assert (await call(keep, "GET", "api", "me")).code == 200


async def test_expiry(call, start_kernel, store):
    store.ttl_seconds = 1.0
    kid = await start_kernel()
    ans = await _issue(call, BOB, kid)
    assert (await call(ans.body["token"], "GET", "api", "me")).code == 200
    await asyncio.sleep(1.2)
    assert (await call(ans.body["token"], "GET", "api", "me")).code == 403


async def test_a_new_token_replaces_the_old(call, start_kernel):
    kid = await start_kernel()
    first = (await _issue(call, BOB, kid)).body["token"]
    second = (await _issue(call, BOB, kid)).body["token"]
    assert first != second
    assert (await call(first, "GET", "api", "me")).code == 403
    assert (await call(second, "GET", "api", "me")).code == 200


async def test_delete_revokes_own_token_only(call, start_kernel):
    kid = await start_kernel()
    bob = (await _issue(call, BOB, kid)).body["token"]
    carol = (await _issue(call, CAROL, kid)).body["token"]
    assert (await call(BOB, "DELETE", *TOKENS, kid)).code == 204
    assert (await call(BOB, "DELETE", *TOKENS, kid)).code == 204  # idempotent
    assert (await call(bob, "GET", "api", "me")).code == 403
    assert (await call(carol, "GET", "api", "me")).code == 200


async def test_two_users_one_server_each_their_own_identity(call, start_kernel):
    kid_bob, kid_carol = await start_kernel(), await start_kernel()
    bob = (await _issue(call, BOB, kid_bob)).body["token"]
    carol = (await _issue(call, CAROL, kid_carol)).body["token"]
    assert (await call(bob, "GET", "api", "me")).body["identity"]["username"] == "bob"
    assert (await call(carol, "GET", "api", "me")).body["identity"]["username"] == "carol"
    mine = await call(carol, "POST", "astro-ops", "api", "v1", "activity",
                      body={"kind": "project.create", "name": "Carol Survey"})
    assert mine.code == 201 and mine.body["user"] == "carol"
    seen_by_bob = await call(bob, "GET", "astro-ops", "api", "v1", "activity")
    assert all(ev["user"] == "bob" for ev in seen_by_bob.body)


async def test_unknown_kernel_is_404(call):
    ans = await _issue(call, BOB, "00000000-0000-4000-8000-000000000000")
    assert ans.code == 404 and ans.body["reason"] == "not_found"


@pytest.mark.parametrize("body", [
    {"kernel_id": "not-a-uuid"},
    {"kernel_id": "0" * 10_000},
    {"kernel_id": 42},
    {"kernel_id": None},
    {},
    {"kernel_id": "0b7e4a52-6a43-4f0e-9d43-3c1d7a1f7c01", "user": "alice"},
    "[1, 2]",
    "{not json",
])
async def test_bad_input_is_a_400_json_error(call, body):
    ans = await call(BOB, "POST", *TOKENS, body=body)
    assert ans.code == 400, ans.body
    assert set(ans.body) >= {"message", "reason"}


@pytest.mark.parametrize("kid", ["nope", "x" * 5000, "0b7e4a52-6a43-4f0e-9d43-3c1d7a1f7c0%21"])
async def test_a_path_that_is_no_kernel_id_is_a_json_404(call, kid):
    """The route only matches kernel ids (as the OpenAPI pattern says); nothing is revoked."""
    ans = await call(BOB, "DELETE", *TOKENS, kid)
    assert ans.code == 404 and ans.body["reason"] == "not_found"


async def test_login_required(call):
    assert (await call("", "POST", *TOKENS, body={"kernel_id": "x"})).code == 403


async def test_a_kernel_token_cannot_mint_kernel_tokens(call, start_kernel):
    kid = await start_kernel()
    token = (await _issue(call, BOB, kid)).body["token"]
    ans = await _issue(call, token, kid)
    assert ans.code == 403 and ans.body["reason"] == "forbidden"
    assert (await call(token, "DELETE", *TOKENS, kid)).code == 403


async def test_live_feed_takes_a_kernel_token(call, start_kernel, http_server_client,
                                              jp_http_port, jp_base_url):
    kid = await start_kernel()
    token = (await _issue(call, BOB, kid)).body["token"]
    url = f"ws://127.0.0.1:{jp_http_port}{jp_base_url}astro-ops/api/v1/live"
    ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
    try:
        await ws.write_message(json.dumps({"type": "subscribe", "since": None, "filters": {}}))
        await asyncio.sleep(0.2)
        made = await call(BOB, "POST", "astro-ops", "api", "v1", "activity",
                          body={"kind": "project.create", "name": "Live Via Kernel"})
        msg = json.loads(await asyncio.wait_for(ws.read_message(), 15))
        assert msg["type"] == "event" and msg["event"]["id"] == made.body["id"]
    finally:
        ws.close()


async def test_dashboards(call, jp_base_url):
    ans = await call(CAROL, "GET", "astro-ops", "api", "v1", "dashboards")
    assert ans.code == 200
    by_name = {d["name"]: d for d in ans.body}
    assert {"activity", "calendar", "staging"} <= set(by_name)
    assert "index" not in by_name
    assert by_name["activity"]["title"] == "Activity"
    assert by_name["activity"]["description"]
    for name, entry in by_name.items():
        assert entry["url"] == f"{jp_base_url}astro-ops/dash/{name}"
    assert (await call("", "GET", "astro-ops", "api", "v1", "dashboards")).code == 403


async def test_me_says_who_decides(call):
    alice = await call(ALICE, "GET", "astro-ops", "api", "v1", "me")
    assert alice.body["is_admin"] and alice.body["decider"] and alice.body["kernel_tokens"]
    bob = await call(BOB, "GET", "astro-ops", "api", "v1", "me")
    assert bob.body["decider"] is False and bob.body["display_name"] == "Bob"
    made = await call(ALICE, "POST", "astro-ops", "api", "v1", "projects",
                      body={"name": "Bobs Project", "pi": "bob"})
    assert made.code == 201, made.body
    bob = await call(BOB, "GET", "astro-ops", "api", "v1", "me")
    assert bob.body["decider"] is True and bob.body["is_admin"] is False


async def test_me_gives_a_feed_cursor_without_a_gap(call, http_server_client, jp_http_port,
                                                    jp_base_url):
    # a change made between reading `me` and subscribing with its feed_seq is replayed
    before = (await call(BOB, "GET", "astro-ops", "api", "v1", "me")).body["feed_seq"]
    made = await call(BOB, "POST", "astro-ops", "api", "v1", "activity",
                      body={"kind": "project.create", "name": "In The Gap"})
    after = (await call(BOB, "GET", "astro-ops", "api", "v1", "me")).body["feed_seq"]
    assert after > before
    url = f"ws://127.0.0.1:{jp_http_port}{jp_base_url}astro-ops/api/v1/live"
    ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {BOB}"}))
    try:
        await ws.write_message(json.dumps({"type": "subscribe", "since": before}))
        msg = json.loads(await asyncio.wait_for(ws.read_message(), 15))
        assert msg["event"]["id"] == made.body["id"] and msg["seq"] > before
    finally:
        ws.close()
