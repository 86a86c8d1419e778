"""Concurrent REST bookings of one slot leave exactly one, with the server on SQLite and on PG."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import text

from .conftest import SITES, iso


@pytest.fixture
def astro_config(db_url: str) -> dict[str, Any]:
    # db_url is parametrized (sqlite, postgresql) and already migrated
    return {"CalendarService": {"sites": SITES}, "AstroOpsApp": {"db_url": db_url}}


async def test_concurrent_rest_bookings_leave_one(api: Any) -> None:
    who = ["alice", "bob", "carol", "dave"] * 3
    bodies = [{"site": "saf", "start": iso(i * 0.1), "end": iso(2 + i * 0.1)}
              for i in range(len(who))]
    results = await asyncio.gather(*[api(u, "POST", "v1", "calendar", "reservations", body=b)
                                     for u, b in zip(who, bodies, strict=True)])
    assert sorted(s for s, _ in results) == [201] + [409] * (len(who) - 1)
    _, rows = await api("bob", "GET", "v1", "calendar", "reservations",
                        params={"site": "saf", "start": iso(-5), "end": iso(10)})
    assert len(rows) == 1


async def test_a_booking_waits_for_a_busy_writer_without_stopping_the_server(
        api: Any, jp_serverapp: Any) -> None:
    """While another writer holds the database, a booking waits for it off the event loop
    (SQLite: the quick on-loop write is refused and retried on a thread): the server keeps
    answering meanwhile, and the booking is then made once."""
    ext = next(iter(jp_serverapp.extension_manager.extension_apps["jupyter_astro_ops"]))
    db = ext.services.db
    holding, release = threading.Event(), threading.Event()

    # SQLite: any write holds the database; PostgreSQL: the booking's foreign key waits
    hold_sql = ("SELECT code FROM calendar_sites FOR UPDATE" if db.dialect == "postgresql"
                else "UPDATE calendar_sites SET name = name")

    def hold() -> None:
        with db.write() as session:
            session.execute(text(hold_sql))
            holding.set()
            release.wait(20)

    week = {"site": "saf", "start": iso(-5), "end": iso(10)}
    assert (await api("bob", "GET", "v1", "calendar", "reservations", params=week))[0] == 200
    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert await asyncio.to_thread(holding.wait, 10)
        booking = asyncio.ensure_future(api("alice", "POST", "v1", "calendar", "reservations",
                                            body={"site": "saf", "start": iso(1), "end": iso(2)}))
        await asyncio.sleep(0.3)  # the booking reaches the server and waits there
        status, _ = await api("bob", "GET", "v1", "calendar", "reservations", params=week)
        assert status == 200 and not booking.done()  # answered while the booking waits
    finally:
        release.set()
        await asyncio.to_thread(holder.join, 10)
    status, out = await booking
    assert status == 201, out
    _, rows = await api("bob", "GET", "v1", "calendar", "reservations", params=week)
    assert [r["id"] for r in rows] == [out["id"]]
