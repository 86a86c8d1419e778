"""GET activity's page cache: never stale for local writes, catches up with other processes."""

from __future__ import annotations

import asyncio

from jupyter_astro_ops.activity.pagecache import PageCache
from jupyter_astro_ops.activity.schemas import EventFilter

from ..conftest import make_services


def _record(act, user, object_id):
    with act.events.db.write() as s:
        return act.events.record(s, user, action="ADD", object_type="RESOURCE",
                                 object_id=object_id).id


def test_lru_and_version_tags():
    cache: PageCache[str] = PageCache(size=2)
    cache.put("a", 1, "A")
    cache.put("b", 1, "B")
    assert cache.get("a", 1) == "A" and cache.get("a", 2) is None
    cache.put("c", 1, "C")  # evicts "b", the least recently used
    assert cache.get("b", 1) is None and cache.get("c", 1) == "C"


async def test_local_writes_show_at_once(act, users):
    await act.feed.start()
    try:
        bob = users["bob"]
        first = await asyncio.to_thread(act.pages.list_events, bob, EventFilter())
        new_id = await asyncio.to_thread(_record, act, bob, "x1")
        again = await asyncio.to_thread(act.pages.list_events, bob, EventFilter())
        assert new_id not in [e.id for e in first]
        assert new_id in [e.id for e in again]
    finally:
        await act.feed.stop()


async def test_other_process_writes_show_once_the_feed_sees_them(act, users, second_db):
    other = make_services(second_db).activity  # another process sharing the database
    await act.feed.start()
    hub = act.feed
    try:
        bob = users["bob"]
        await asyncio.to_thread(act.pages.list_events, bob, EventFilter())  # cache the page
        new_id = await asyncio.to_thread(_record, other, bob, "remote")
        latest = await asyncio.to_thread(other.events.latest_seq)
        for _ in range(300):  # the hub polls about once a second
            if hub.cursor >= latest:
                break
            await asyncio.sleep(0.05)
        page = await asyncio.to_thread(act.pages.list_events, bob, EventFilter())
        assert new_id in [e.id for e in page]
    finally:
        await act.feed.stop()


async def test_pages_are_per_user(act, users):
    await act.feed.start()
    try:
        await asyncio.to_thread(_record, act, users["bob"], "mine")
        bob_page = await asyncio.to_thread(act.pages.list_events, users["bob"], EventFilter())
        carol_page = await asyncio.to_thread(act.pages.list_events, users["carol"], EventFilter())
        assert bob_page and not carol_page
    finally:
        await act.feed.stop()


def test_page_renders_the_same_json_as_its_items(act, users):
    import json

    from jupyter_astro_ops.activity.pagecache import Page
    from jupyter_astro_ops.web.base import dump_json, to_jsonable

    _record(act, users["bob"], "p1")
    events = act.pages.list_events(users["bob"], EventFilter())
    page = Page(events)
    assert json.loads(dump_json(page)) == to_jsonable(events)
    assert dump_json(page) is dump_json(page)  # rendered once, then reused


async def test_cached_answers_only_hits_and_never_a_stale_page(act, users):
    bob = users["bob"]
    assert act.pages.cached(bob, EventFilter()) is None  # no feed: no cache at all
    await act.feed.start()
    try:
        assert act.pages.cached(bob, EventFilter()) is None  # not read yet
        first = await asyncio.to_thread(act.pages.list_events, bob, EventFilter())
        assert act.pages.cached(bob, EventFilter()) is first
        assert act.pages.cached(bob, EventFilter(limit=5)) is None  # another page
        assert act.pages.cached(users["carol"], EventFilter()) is None  # another reader
        await asyncio.to_thread(_record, act, bob, "x2")
        assert act.pages.cached(bob, EventFilter()) is None  # a local write: stale
    finally:
        await act.feed.stop()


async def test_cached_refuses_another_users_events(act, users):
    import pytest

    from jupyter_astro_ops.core.errors import Forbidden

    await act.feed.start()
    try:
        with pytest.raises(Forbidden):
            act.pages.cached(users["carol"], EventFilter(user="bob"))
    finally:
        await act.feed.stop()


def test_page_etag_is_the_sha1_tornado_computes(act, users):
    import hashlib

    from jupyter_astro_ops.activity.pagecache import Page

    _record(act, users["bob"], "e1")
    page = Page(act.pages.list_events(users["bob"], EventFilter()))
    assert page.etag() == f'"{hashlib.sha1(page.__json__()).hexdigest()}"'
