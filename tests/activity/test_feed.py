"""FeedHub: cross-process delivery, visibility, filters, replay without gap or duplicate."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from jupyter_astro_ops.activity.feed import FeedHub
from jupyter_astro_ops.activity.schemas import EventFilter
from jupyter_astro_ops.activity.service import ActivityService
from jupyter_astro_ops.core.errors import Forbidden


def _record(act, user, **kw):
    with act.db.write() as s:
        return act.record(s, user, action="ADD", object_type="RESOURCE", **kw).id


async def _take(sub, n, timeout=15.0):
    out = []

    async def collect():
        async for ev in sub:
            out.append(ev)
            if len(out) == n:
                return

    await asyncio.wait_for(collect(), timeout)
    return out


@contextlib.asynccontextmanager
async def two_hubs(act, second_db):
    """Hub A in 'process' A (same service as the writer) and hub B on another engine."""
    other = ActivityService(db=second_db)
    a, b = FeedHub(act, poll_interval=0.2), FeedHub(other, poll_interval=0.2)
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        await a.stop()
        await b.stop()


async def test_events_written_in_one_process_reach_the_other_hub(act, users, second_db):
    async with two_hubs(act, second_db) as (_, remote):
        await _cross_process(act, users, remote)


async def _cross_process(act, users, remote):
    sub = remote.subscribe(users["alice"], EventFilter(), since=None)
    ids = [await asyncio.to_thread(_record, act, users["bob"], object_id=str(i))
           for i in range(3)]
    got = await _take(sub, 3)
    assert [e.id for e in got] == ids and [e.seq for e in got] == sorted(e.seq for e in got)
    sub.close()


async def test_visibility_and_filters_in_the_fan_out(act, users, second_db, project):
    async with two_hubs(act, second_db) as (local, _):
        await _fan_out(act, users, local, project)


async def _fan_out(act, users, local, project):
    carol = local.subscribe(users["carol"], EventFilter(), since=None)
    bob = local.subscribe(users["bob"], EventFilter(object_id="keep"), since=None)
    await asyncio.to_thread(_record, act, users["dave"], object_id="keep")  # nobody but admins
    mine = await asyncio.to_thread(_record, act, users["carol"], object_id="x", project_id=project)
    led = await asyncio.to_thread(_record, act, users["carol"], object_id="keep",
                                  project_id=project)
    assert [e.id for e in await _take(carol, 2)] == [mine, led]
    assert [e.id for e in await _take(bob, 1)] == [led]  # PI of the project, filter object_id
    with pytest.raises(Forbidden):
        local.subscribe(users["bob"], EventFilter(user="carol"), since=None)


async def test_replay_then_live_without_gap_or_duplicate(act, users, second_db):
    async with two_hubs(act, second_db) as (_, remote):
        await _replay(act, users, remote)


async def _replay(act, users, remote):
    first = [await asyncio.to_thread(_record, act, users["bob"]) for _ in range(3)]
    live = remote.subscribe(users["bob"], EventFilter(), since=None)
    got = await _take(live, 3)
    cursor = got[0].seq  # the client saw only the first event, then disconnected
    live.close()
    missed = [await asyncio.to_thread(_record, act, users["bob"]) for _ in range(2)]
    sub = remote.subscribe(users["bob"], EventFilter(), since=cursor)
    later = [await asyncio.to_thread(_record, act, users["bob"]) for _ in range(2)]
    got = await _take(sub, 6)
    assert [e.id for e in got] == first[1:] + missed + later
    more = await asyncio.to_thread(_record, act, users["bob"])
    assert [e.id for e in await _take(sub, 1)] == [more]


async def test_gap_holds_cursor_then_skips(act, users):
    """A missing seq (a write still in flight) holds the cursor until gap_timeout."""
    hub = FeedHub(act, gap_timeout=1000.0)
    hub.cursor = 10
    assert hub._safe_upto([11, 12, 14, 15], now=0.0) == 12
    hub.cursor = 12
    assert hub._safe_upto([14, 15], now=999.0) == 12  # still waiting for 13
    assert hub._safe_upto([13, 14, 15], now=999.5) == 15  # 13 committed after all
    hub.cursor = 15
    assert hub._safe_upto([17], now=0.0) == 15
    assert hub._safe_upto([17], now=1001.0) == 17  # 16 rolled back: skipped at last
    assert hub._gaps == {}


async def test_subscribe_before_start_is_an_error(act, users):
    with pytest.raises(RuntimeError):
        FeedHub(act).subscribe(users["bob"], EventFilter(), since=None)


async def test_service_start_runs_one_feed(act, users):
    await act.start()
    try:
        hub = await act.ensure_feed()
        assert hub is act.feed and hub.running
        sub = hub.subscribe(users["bob"], EventFilter(), since=0)
        eid = await asyncio.to_thread(_record, act, users["bob"])
        assert [e.id for e in await _take(sub, 1)] == [eid]
    finally:
        await act.stop()
    assert act.feed is None
