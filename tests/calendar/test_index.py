"""The in-memory reservation index answers exactly what the SQL query answers.

On SQLite and PostgreSQL: random bookings, moves and cancellations, made through this
process's service (applied at commit) and through a second set of parts on the same database
(another process: seen through the change journal once the live feed has), then random
windows compared byte for byte with the SQL path's JSON. Also: the rebuild's fast encoding
of awkward values, and that an older state never replaces a newer one.
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

from jupyter_astro_ops.calendar.index import _ENCODE
from jupyter_astro_ops.calendar.schemas import ReservationIn, ReservationPatch
from jupyter_astro_ops.compose import Services
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.errors import Conflict

from ..conftest import make_services
from .conftest import SITES, T0, at

ODD = "t\"\\\n\x01\x7f\u2028é😀/ <b>&"


def sql_answer(services: Services, site: str | None, start: Any, end: Any) -> list[bytes]:
    rows = services.calendar.service._sql_window(site, start, end, False)
    return [_ENCODE(r) for r in rows]


async def caught_up(services: Services) -> None:
    """Wait until this process's feed has seen every committed change."""
    latest = await asyncio.to_thread(services.activity.events.latest_seq)
    for _ in range(400):
        if services.activity.feed.cursor >= latest:
            return
        services.activity.feed.wake()
        await asyncio.sleep(0.05)
    raise AssertionError("the feed did not catch up")


def compare(services: Services, rng: random.Random, n: int = 60) -> int:
    index = services.calendar.index
    checked = 0
    for _ in range(n):
        start = T0 + timedelta(hours=rng.uniform(-10, 250))
        end = start + timedelta(hours=rng.choice([0.01, 1, 5, 24, 24 * 7]))
        for site in (*SITES, None):
            got = index.window(site, start, end)
            assert got is not None, "the index should answer"
            assert got == sql_answer(services, site, start, end), (site, start, end)
            checked += len(got)
    return checked


def random_writes(services: Services, users: dict[str, Any], rng: random.Random,
                  n: int) -> None:
    cal = services.calendar.service
    for _ in range(n):
        site = rng.choice(list(SITES))
        mine = cal.user_reservations(users["dave"], "dave", at(-100))
        action = rng.random()
        try:
            if action < 0.6 or not mine:
                start = at(rng.uniform(0, 240))
                cal.create(users["dave"], ReservationIn(
                    site=site, start=start, end=start + timedelta(
                        minutes=rng.choice([5, 30, 90, 600]), microseconds=rng.randrange(10**6)),
                    title=rng.choice(["", "M31", ODD]), note=rng.choice(["", ODD])))
            elif action < 0.8:
                row = rng.choice(mine)
                shift = timedelta(hours=rng.uniform(-5, 5))
                cal.modify(users["dave"], row.id, ReservationPatch(
                    start=row.start + shift, end=row.end + shift, version=row.version))
            else:
                row = rng.choice(mine)
                cal.cancel(users["dave"], row.id, row.version)
        except Conflict:
            pass  # an overlap: the database refused it, the index must not show it either


async def test_index_matches_sql_after_local_and_remote_writes(db: Any, users: Any) -> None:
    config = {"CalendarService": {"sites": SITES}}
    other_db = Database(db.url)  # another process: its own engine and commit hooks
    here, there = make_services(db, config), make_services(other_db, config)
    rng = random.Random(13)
    await asyncio.to_thread(random_writes, here, users, rng, 40)  # before the rebuild
    await here.activity.feed.start()
    try:
        assert await asyncio.to_thread(here.calendar.index.rebuild)
        assert await asyncio.to_thread(compare, here, rng) > 0
        for _ in range(3):
            await asyncio.to_thread(random_writes, here, users, rng, 15)  # local: at once
            assert await asyncio.to_thread(compare, here, rng, 20) >= 0
            await asyncio.to_thread(random_writes, there, users, rng, 15)  # another process
            await caught_up(here)
            await asyncio.to_thread(compare, here, rng)
        assert here.calendar.index.cursor > 0
    finally:
        await here.calendar.index.stop()
        await here.activity.feed.stop()
        other_db.dispose()


async def test_a_local_write_is_seen_at_once_and_stale_states_are_ignored(
        db: Any, users: Any) -> None:
    services = make_services(db, {"CalendarService": {"sites": SITES}})
    cal, index = services.calendar.service, services.calendar.index
    await services.activity.feed.start()
    try:
        assert await asyncio.to_thread(index.rebuild)
        made = cal.create(users["bob"], ReservationIn(site="saf", start=at(1), end=at(2)))
        assert index.window("saf", at(0), at(3)) == [_ENCODE(made)]  # no feed round needed
        moved = cal.modify(users["bob"], made.id, ReservationPatch(start=at(5), end=at(6)))
        index.apply([made])  # an older version arriving late changes nothing
        assert index.window("saf", at(0), at(3)) == []
        assert index.window("saf", at(4), at(7)) == [_ENCODE(moved)]
        gone = cal.cancel(users["bob"], made.id)
        index.apply([moved])
        assert index.window("saf", at(0), at(10)) == []
        assert gone.status == "cancelled"
        assert cal.list_reservations(users["bob"], "saf", at(0), at(10)) == []
        assert index.window("nowhere", at(0), at(1)) is None  # unknown site: SQL answers
    finally:
        await services.activity.feed.stop()


def test_without_a_running_feed_sql_answers(services: Services, users: Any) -> None:
    cal = services.calendar.service
    made = cal.create(users["bob"], ReservationIn(site="saf", start=at(1), end=at(2)))
    assert services.calendar.index.window("saf", at(0), at(3)) is None
    assert [r.id for r in cal.list_reservations(users["bob"], "saf", at(0), at(3))] == [made.id]
