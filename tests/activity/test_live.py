"""The live websocket: login like the REST API, filters, replay from a cursor, then live."""

from __future__ import annotations

import asyncio
import gc
import json
import socket

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from jupyter_astro_ops.activity.live import LiveHandler

from ..conftest import USERS


@pytest.fixture
def live_url(jp_serverapp, http_server, jp_http_port, jp_base_url):
    # http_server makes pytest-jupyter listen on jp_http_port (jp_fetch pulls it in, too)
    return f"ws://127.0.0.1:{jp_http_port}{jp_base_url}astro-ops/api/v1/live"


async def _connect(url, user):
    headers = {"Authorization": f"token {USERS[user][0]}"} if user else {}
    return await websocket_connect(HTTPRequest(url, headers=headers))


async def _recv(ws, timeout=15.0):
    msg = await asyncio.wait_for(ws.read_message(), timeout)
    assert msg is not None, "socket closed"
    return json.loads(msg)


async def _events(ws, n):
    out = []
    while len(out) < n:
        msg = await _recv(ws)
        assert msg["type"] == "event", msg
        out.append(msg)
    return out


async def _until_pending(ws, ids):
    """Events arrive once per change (NEW, then PENDING); read until each id is PENDING."""
    seen, waiting = [], set(ids)
    while waiting:
        msg = (await _events(ws, 1))[0]
        seen.append(msg)
        if msg["event"]["status"] == "PENDING":
            waiting.discard(msg["event"]["id"])
    seqs = [m["seq"] for m in seen]
    assert seqs == sorted(set(seqs))  # strictly increasing: no duplicate
    return seen


async def _subscribe(ws, since=None, **filters):
    await ws.write_message(json.dumps({"type": "subscribe", "since": since, "filters": filters}))


async def _request(api, user, name):
    status, ev = await api(user, "POST", "v1", "activity",
                           body={"kind": "project.create", "name": name})
    assert status == 201
    return ev["id"]


async def test_no_login_is_refused(live_url):
    with pytest.raises(HTTPClientError) as err:
        await websocket_connect(HTTPRequest(live_url, headers={"Authorization": "token nope1234"}))
    assert err.value.code == 403
    with pytest.raises(HTTPClientError) as err:
        await websocket_connect(live_url)
    assert err.value.code == 403


async def test_replay_missed_events_then_live(api, live_url):
    ws = await _connect(live_url, "carol")
    await _subscribe(ws, since=0)
    first = [await _request(api, "carol", f"P{i}") for i in range(2)]
    got = await _until_pending(ws, first)
    assert {m["event"]["id"] for m in got} == set(first)
    assert all(m["seq"] == m["event"]["seq"] for m in got)
    last_seq = got[-1]["seq"]
    ws.close()

    missed = [await _request(api, "carol", f"Q{i}") for i in range(3)]
    ws = await _connect(live_url, "carol")
    await _subscribe(ws, since=last_seq)
    got = await _events(ws, 3)
    assert [m["event"]["id"] for m in got] == missed  # exactly the missed ones, in order
    live = await _request(api, "carol", "R0")
    got = await _until_pending(ws, [live])
    assert {m["event"]["id"] for m in got} == {live}
    assert got[0]["seq"] > last_seq
    ws.close()


async def test_events_are_sent_without_waiting_for_acks(api, live_url):
    """Each event is one small frame: Nagle's algorithm would hold a frame until the client
    acknowledged the previous one (Linux delays ACKs by ~40 ms), so the server's socket of
    the feed must have TCP_NODELAY set."""
    ws = await _connect(live_url, "carol")
    await _subscribe(ws, since=None)
    await _until_pending(ws, [await _request(api, "carol", "Fast")])
    handlers = [h for h in gc.get_objects() if isinstance(h, LiveHandler)
                and h.ws_connection is not None and not h.ws_connection.is_closing()]
    assert handlers, "no open feed socket on the server"
    for handler in handlers:
        sock = handler.ws_connection.stream.socket
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    ws.close()


async def test_visibility_and_filters(api, live_url):
    ws = await _connect(live_url, "carol")
    await _subscribe(ws, since=None, status=["PENDING"], object_type=["PROJECT"])
    await _request(api, "bob", "Bobs")  # invisible to carol
    mine = await _request(api, "carol", "Carols")
    got = await _events(ws, 1)  # only the PENDING change passes the filter
    assert got[0]["event"]["id"] == mine and got[0]["event"]["status"] == "PENDING"
    ws.close()


@pytest.mark.parametrize("message", [
    "not json", json.dumps([1]), json.dumps({"type": "hello"}),
    json.dumps({"type": "subscribe", "since": -3}),
    json.dumps({"type": "subscribe", "filters": {"status": ["DONE"]}}),
    json.dumps({"type": "subscribe", "filters": {"user": "alice"}}),
])
async def test_invalid_subscribe_gets_an_error_message(api, live_url, message):
    ws = await _connect(live_url, "carol")
    await ws.write_message(message)
    reply = await _recv(ws)
    assert reply["type"] == "error" and reply["message"]
    await _subscribe(ws, since=None)  # the socket still works
    eid = await _request(api, "carol", "Still")
    assert {m["event"]["id"] for m in await _until_pending(ws, [eid])} == {eid}
    ws.close()
