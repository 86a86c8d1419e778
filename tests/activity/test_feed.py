"""FeedHub: cross-process delivery, visibility, filters, replay without gap or duplicate."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from jupyter_astro_ops.activity.feed import FeedHub
from jupyter_astro_ops.activity.gaps import GapTracker
from jupyter_astro_ops.activity.schemas import EventFilter
from jupyter_astro_ops.core.errors import Forbidden

from ..conftest import make_services


def _record(act, user, **kw):
    with act.events.db.write() as s:
        return act.events.record(s, user, action="ADD", object_type="RESOURCE", **kw).id


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
    other = make_services(second_db).activity
    a, b = FeedHub(act.events, poll_interval=0.2), FeedHub(other.events, poll_interval=0.2)
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
    # since=0, not None: the hub may already have polled the three events (a race otherwise)
    live = remote.subscribe(users["bob"], EventFilter(), since=0)
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


def test_gap_holds_cursor_then_skips_after_timeout():
    """A missing seq (a write still in flight) holds the cursor until gap_timeout."""
    gaps = GapTracker(timeout=1000.0)
    assert gaps.safe_upto(10, [11, 12, 14, 15], now=0.0) == 12
    assert gaps.safe_upto(12, [14, 15], now=999.0) == 12  # still waiting for 13
    assert gaps.safe_upto(12, [13, 14, 15], now=999.5) == 15  # 13 committed after all
    assert gaps.safe_upto(15, [17], now=0.0) == 15
    assert gaps.safe_upto(15, [17], now=1001.0) == 17  # 16 rolled back: skipped at last
    assert not gaps.pending


def test_gap_settles_once_its_possible_writers_ended():
    gaps = GapTracker(timeout=1000.0)
    assert gaps.safe_upto(0, [1, 3], now=0.0) == 1
    gaps.watch(frozenset({"700", "701"}))  # running right after that read
    assert gaps.safe_upto(1, [3], now=1.0, running=frozenset({"701", "702"})) == 1
    assert gaps.safe_upto(1, [3], now=2.0, running=frozenset({"702"})) == 3  # 700, 701 ended


@pytest.mark.postgres
def test_rolled_back_and_in_flight_writes_on_postgresql(act, users, second_db):
    """A rollback leaves a hole the hub steps over at once; an open write is waited for."""
    if act.events.db.dialect != "postgresql":
        pytest.skip("SQLite serializes writers and reuses rowids: no commit-order gaps")
    hub = FeedHub(act.events, gap_timeout=1000.0)

    def advance():
        events, _, upto = hub.poll()
        hub.cursor = upto
        return [e.id for e in events]

    with pytest.raises(RuntimeError), act.events.db.write() as s:
        act.events.record(s, users["bob"], action="ADD", object_type="RESOURCE")
        raise RuntimeError("roll back")
    after = _record(act, users["bob"])
    assert advance() == []  # the hole is new: wait one round
    assert advance() == [after]  # its writer is gone: skip without the timeout
    with act.events.db.write() as open_tx:  # an in-flight write holds a lower seq...
        act.events.record(open_tx, users["bob"], action="ADD", object_type="RESOURCE",
                          event_id="a" * 32)
        later = _record(make_services(second_db).activity, users["bob"])  # ...a later commit
        assert advance() == [] and advance() == []
    assert advance() == ["a" * 32, later]


async def test_subscribe_before_start_is_an_error(act, users):
    with pytest.raises(RuntimeError):
        FeedHub(act.events).subscribe(users["bob"], EventFilter(), since=None)


async def test_service_start_runs_one_feed(db, users):
    services = make_services(db)
    act = services.activity
    await services.start()
    try:
        await act.feed.start()  # a second start (the websocket's) is a no-op
        hub = act.feed
        assert hub.running and hub.loop.running
        sub = hub.subscribe(users["bob"], EventFilter(), since=0)
        eid = await asyncio.to_thread(_record, act, users["bob"])
        assert [e.id for e in await _take(sub, 1)] == [eid]
    finally:
        await services.stop()
    assert not act.feed.running


async def test_without_subscribers_the_cursor_moves_and_a_late_subscriber_misses_nothing(
        act, users):
    """A round with nobody subscribed only moves the cursor; a subscription made during that
    round (registered at the old cursor) still gets the events above it, once each."""
    hub = FeedHub(act.events, poll_interval=30.0)
    await hub.start()
    try:
        first = await asyncio.to_thread(_record, act, users["bob"])
        for _ in range(200):
            if hub.cursor >= act.events.latest_seq():
                break
            await asyncio.sleep(0.02)
        assert hub.cursor == act.events.latest_seq()  # moved, though nobody was listening
        real, subs, calls = hub.poll, [], []

        def poll(events=True):
            calls.append(events)
            if not events and not subs:  # a client subscribes while this round runs
                subs.append(hub.subscribe(users["bob"], EventFilter()))
            return real(events)

        hub.poll = poll
        second = await asyncio.to_thread(_record, act, users["bob"])
        got = await _take(subs[0], 1) if await _wait_for(lambda: subs) else []
        assert [e.id for e in got] == [second] and first != second
        assert calls[:2] == [False, True]  # the round was read again, in full
        third = await asyncio.to_thread(_record, act, users["bob"])
        assert [e.id for e in await _take(subs[0], 1)] == [third]
    finally:
        await hub.stop()


async def _wait_for(check, timeout=10.0):
    for _ in range(int(timeout / 0.02)):
        if check():
            return True
        await asyncio.sleep(0.02)
    return False
