"""Concurrent REST bookings of one slot leave exactly one, with the server on SQLite and on PG."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

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
