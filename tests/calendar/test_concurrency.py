"""N simultaneous bookings of one slot leave exactly one reservation (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from jupyter_astro_ops.calendar.schemas import ReservationIn, ReservationPatch
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.errors import Conflict

from ..conftest import make_services
from .conftest import SITES, at

N = 8


def _race(fns: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(fns))
    results: list[Any] = [None] * len(fns)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fns[i]()
        except Exception as exc:  # collected and asserted below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_parallel_bookings_one_wins(cal: Any, users: Any) -> None:
    cal.ensure_sites()
    who = ["bob", "carol", "dave", "alice"]
    # overlapping but not identical slots, so the race is on the overlap rule, not a key
    fns = [lambda i=i: cal.create(users[who[i % 4]],
                                  ReservationIn(site="saf", start=at(i * 0.1), end=at(2 + i * 0.1)))
           for i in range(N)]
    results = _race(fns)
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1, results
    assert all(isinstance(e, Conflict) for e in lost), lost
    rows = cal.list_reservations(users["bob"], "saf", at(-5), at(10))
    assert [r.id for r in rows] == [won[0].id]


def test_parallel_modifications_one_wins(cal: Any, users: Any) -> None:
    r = cal.create(users["bob"], ReservationIn(site="saf", start=at(0), end=at(1)))
    fns = [lambda i=i: cal.modify(users["bob"], r.id, ReservationPatch(note=f"n{i}", version=1))
           for i in range(N)]
    results = _race(fns)
    won = [x for x in results if not isinstance(x, Exception)]
    assert len(won) == 1 and all(isinstance(x, Conflict) for x in results if x not in won)
    assert cal.get(users["bob"], r.id).version == 2


def test_parallel_moves_into_one_gap(cal: Any, users: Any) -> None:
    """Different reservations moved into the same free slot: only one lands there."""
    rows = [cal.create(users["bob"], ReservationIn(site="saf", start=at(10 + 2 * i),
                                                   end=at(11 + 2 * i))) for i in range(N)]
    fns = [lambda r=r: cal.modify(users["bob"], r.id, ReservationPatch(start=at(0), end=at(1)))
           for r in rows]
    results = _race(fns)
    assert sum(not isinstance(x, Exception) for x in results) == 1, results
    assert len(cal.list_reservations(users["bob"], "saf", at(0), at(1))) == 1


def test_postgres_exclusion_constraint_backs_the_rule(cal: Any, users: Any, db: Any) -> None:
    """Even a writer that skips the service check cannot store an overlap on PostgreSQL."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from jupyter_astro_ops.calendar.models import Reservation

    if db.dialect != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL only")
    first = cal.create(users["bob"], ReservationIn(site="saf", start=at(0), end=at(2)))
    row = Reservation(id="f" * 32, site="saf", start=at(1), end=at(3), title="x", type="realtime",
                      origin="ptr", creator_id="carol", creator_name="Carol", note="",
                      status="active", sequence=0, created=at(0), modified=at(0))
    with pytest.raises(IntegrityError) as err, db.write() as session:
        session.add(row)
    assert getattr(err.value.orig, "sqlstate", None) == "23P01"
    cal.cancel(users["bob"], first.id)
    with db.write() as session:  # cancelled rows are outside the constraint
        session.add(row)


def test_a_writer_past_the_busy_timeout_gets_sqlalchemys_error(db: Any, tmp_path: Any) -> None:
    """SQLite: BEGIN IMMEDIATE runs on the driver; a writer that waits out the busy timeout
    behind another process's write lock still gets SQLAlchemy's OperationalError."""
    import sqlite3

    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from jupyter_astro_ops.core.db import Database

    if db.dialect != "sqlite":
        pytest.skip("SQLite's write lock")
    other = sqlite3.connect(db.engine.url.database, isolation_level=None)
    impatient = Database(str(db.engine.url), busy_timeout_ms=50)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="locked"), impatient.write() as session:
            session.execute(text("SELECT 1"))
        other.execute("ROLLBACK")
        with impatient.write() as session:  # the lock is free again: the write goes through
            assert session.execute(text("SELECT 1")).scalar() == 1
    finally:
        other.close()
        impatient.dispose()


def test_two_processes_writing_the_sites_at_once_both_start(db: Any, users: Any) -> None:
    """Two JupyterHub workers start together on one PostgreSQL database: the second to insert
    a configured site used to fail its start-up with a duplicate key. Here the other process's
    insert lands between this one's look-up and its commit (forced, not left to timing)."""
    if db.dialect == "sqlite":
        pytest.skip("SQLite's write lock makes the second writer wait for the first")
    other_db = Database(str(db.engine.url.render_as_string(hide_password=False)))
    try:
        mine = make_services(db, {"CalendarService": {"sites": SITES}}).calendar.service
        other = make_services(other_db, {"CalendarService": {"sites": SITES}}).calendar.service
        raced: list[bool] = []

        def other_process_first(session: Any, *_: Any) -> None:
            if not raced:
                raced.append(True)
                other.ensure_sites()  # commits both sites on its own connection

        db.on_session_event("before_flush", other_process_first)
        mine.ensure_sites()
        assert raced == [True]
        assert [s.code for s in mine.list_sites(users["bob"])] == ["mrc", "saf"]
    finally:
        other_db.dispose()
