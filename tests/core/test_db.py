"""core.db: aware-UTC timestamps and serialized read-modify-write transactions."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError, StatementError

from jupyter_astro_ops.core.db import Database, UTCDateTime, WriterBusy
from jupyter_astro_ops.core.driver import DriverStatement

# A scratch table outside Base.metadata, so the migration comparison never sees it.
scratch = MetaData()
stamps = Table(
    "test_stamps", scratch,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime),
)
counters = Table(
    "test_counters", scratch,
    Column("name", String(16), primary_key=True),
    Column("value", Integer, nullable=False),
)


@pytest.fixture
def scratch_db(db: Database):
    scratch.create_all(db.engine)
    yield db
    scratch.drop_all(db.engine)


def test_utc_datetime_round_trip_is_aware_utc(scratch_db: Database):
    eastern = timezone(timedelta(hours=-5))
    written = datetime(2026, 3, 1, 7, 30, 15, 123456, tzinfo=eastern)
    with scratch_db.write() as s:
        s.execute(stamps.insert().values(id=1, at=written))
    with scratch_db.read() as s:
        back = s.execute(select(stamps.c.at)).scalar_one()
    assert back.tzinfo is not None
    assert back.utcoffset() == timedelta(0)
    assert back == written
    assert back.hour == 12


def test_naive_datetime_is_refused(scratch_db: Database):
    with pytest.raises(StatementError, match="naive"), scratch_db.write() as s:
        s.execute(stamps.insert().values(id=2, at=datetime(2026, 3, 1, 7, 30)))
    with scratch_db.read() as s:
        assert s.execute(select(stamps.c.id)).all() == []


def test_write_rolls_back_on_error(scratch_db: Database):
    with pytest.raises(RuntimeError), scratch_db.write() as s:
        s.execute(counters.insert().values(name="x", value=1))
        raise RuntimeError("boom")
    with scratch_db.read() as s:
        assert s.execute(select(counters)).all() == []


def _increment(db: Database, rounds: int, errors: list[BaseException]) -> None:
    try:
        for _ in range(rounds):
            with db.write() as s:
                if db.dialect == "postgresql":
                    # PostgreSQL: the service pattern is a row lock for read-modify-write.
                    stmt = select(counters.c.value).where(counters.c.name == "n").with_for_update()
                else:
                    # SQLite: BEGIN IMMEDIATE alone must serialize the writers.
                    stmt = select(counters.c.value).where(counters.c.name == "n")
                value = s.execute(stmt).scalar_one()
                s.execute(update(counters).where(counters.c.name == "n").values(value=value + 1))
    except BaseException as exc:  # surfaced by the test thread
        errors.append(exc)


def test_concurrent_read_modify_write_never_loses_an_update(scratch_db: Database):
    with scratch_db.write() as s:
        s.execute(counters.insert().values(name="n", value=0))
    threads_n, rounds = 4, 40
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_increment, args=(scratch_db, rounds, errors))
               for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with scratch_db.read() as s:
        assert s.execute(select(counters.c.value)).scalar_one() == threads_n * rounds


def test_sqlite_runs_in_wal_mode_with_busy_timeout(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path}/wal.db", busy_timeout_ms=1234)
    try:
        with db.read() as s:
            assert s.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert s.execute(text("PRAGMA busy_timeout")).scalar_one() == 1234
            assert s.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        db.dispose()


def test_sqlite_reader_is_not_blocked_by_an_open_writer(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path}/rw.db", busy_timeout_ms=200)
    scratch.create_all(db.engine)
    try:
        with db.write() as s:
            s.execute(counters.insert().values(name="r", value=1))
        with db.write() as w:
            w.execute(update(counters).values(value=2))
            with db.read() as r:  # WAL: sees the last committed value while the writer holds
                assert r.execute(select(counters.c.value)).scalar_one() == 1
        with db.read() as r:
            assert r.execute(select(counters.c.value)).scalar_one() == 2
    finally:
        db.dispose()


def test_memory_sqlite_is_refused():
    with pytest.raises(ValueError, match="file-backed"):
        Database("sqlite:///:memory:")


def test_the_default_database_comes_from_the_environment_when_set(monkeypatch, tmp_path):
    """A deployment passes its database URL as a secret in ``$ASTRO_OPS_DB_URL`` (the server,
    the CLI and the dashboards alike); unset, the embedded SQLite file is the default."""
    from jupyter_astro_ops.core.db import DB_URL_ENV, default_db_url

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(DB_URL_ENV, "postgresql+psycopg://astro@db/astro")
    assert default_db_url() == "postgresql+psycopg://astro@db/astro"
    monkeypatch.delenv(DB_URL_ENV)
    assert default_db_url() == f"sqlite:///{tmp_path / 'astro_ops' / 'astro_ops.db'}"


def test_probe_reads_only_what_is_committed_and_returns_its_connection(scratch_db: Database):
    newer = DriverStatement(select(stamps.c.id).where(stamps.c.id > bindparam("after"))
                            .order_by(stamps.c.id))
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with scratch_db.write() as s:
        s.execute(stamps.insert(), [{"id": 1, "at": at}, {"id": 2, "at": at}])
        s.flush()
        assert newer.probe(scratch_db, {"after": 0}) == []  # not committed yet
    assert newer.probe(scratch_db, {"after": 0}) == [(1,), (2,)]
    assert newer.probe(scratch_db, {"after": 1}) == [(2,)]
    assert scratch_db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    missing = Table("test_missing", MetaData(), Column("id", Integer, primary_key=True))
    with pytest.raises(DBAPIError):  # the driver's error, as SQLAlchemy raises it
        DriverStatement(select(missing.c.id)).probe(scratch_db, {})
    assert scratch_db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]




def _counter_db(path: Path, busy_timeout_ms: int = 5000) -> Database:
    db = Database(f"sqlite:///{path}", busy_timeout_ms=busy_timeout_ms)
    scratch.create_all(db.engine)
    with db.write() as s:
        s.execute(counters.insert().values(name="n", value=0))
    return db


def _add(db: Database, n: int) -> None:
    with db.write() as s:
        s.execute(update(counters).values(value=counters.c.value + n))


def _value(db: Database) -> int:
    with db.read() as r:
        return int(r.execute(select(counters.c.value)).scalar_one())


@contextlib.contextmanager
def _writer_held(db: Database) -> Iterator[None]:
    """A thread of this process adds 1 and holds its write transaction open for the block."""
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with db.write() as s:
            s.execute(update(counters).values(value=counters.c.value + 1))
            holding.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        yield
    finally:
        done.set()
        holder.join(10)


def test_sqlite_writer_waits_its_turn_at_most_the_busy_timeout(tmp_path: Path):
    """Writers of one process queue before BEGIN IMMEDIATE; one kept waiting longer than the
    busy timeout is refused as SQLite would refuse it, and changes nothing."""
    db = _counter_db(tmp_path / "turn.db", busy_timeout_ms=200)
    with _writer_held(db), pytest.raises(OperationalError, match="database is locked"):
        _add(db, 10)
    _add(db, 100)  # the queue is free again
    assert _value(db) == 101
    db.dispose()


def test_sqlite_wal_is_checkpointed_by_its_own_thread_not_by_a_commit(tmp_path: Path):
    """Commits leave the WAL alone (``wal_autocheckpoint=0``); the checkpoint thread copies
    it into the database file soon after: a copy of the file alone holds every row."""
    db = Database(f"sqlite:///{tmp_path}/ck.db")
    scratch.create_all(db.engine)
    raw = db.engine.raw_connection()
    try:
        assert raw.cursor().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    finally:
        raw.close()
    for i in range(50):
        with db.write() as s:
            s.execute(counters.insert().values(name=f"n{i}", value=i))
    deadline, found = time.monotonic() + 20, -1
    while found != 50 and time.monotonic() < deadline:
        shutil.copyfile(tmp_path / "ck.db", tmp_path / "copy.db")  # without its -wal
        try:
            with contextlib.closing(sqlite3.connect(tmp_path / "copy.db")) as copy:
                found = copy.execute("SELECT count(*) FROM test_counters").fetchone()[0]
        except sqlite3.DatabaseError:  # copied halfway through a checkpoint: look again
            pass
        time.sleep(0.05)
    assert found == 50
    checkpointer = db._checkpointer
    assert checkpointer is not None and checkpointer.checkpoints >= 1
    db.dispose()
    assert checkpointer._thread is None  # stopped; the next write starts it again
    with db.write() as s:
        s.execute(update(counters).values(value=0))
    assert checkpointer._thread is not None
    db.dispose()


def test_no_wait_refuses_at_once_while_a_thread_of_this_process_writes(tmp_path: Path):
    """Inside ``no_wait`` the first write does not queue behind another writer of the process
    (5 s busy timeout): it raises WriterBusy before writing; once free, it writes."""
    db = _counter_db(tmp_path / "nowait.db")
    with _writer_held(db), pytest.raises(WriterBusy), db.no_wait():
        _add(db, 10)  # waiting would have ended in OperationalError
    with db.no_wait():
        _add(db, 100)
    assert _value(db) == 101
    db.dispose()


def test_no_wait_refuses_at_once_while_another_process_writes(tmp_path: Path):
    """A writer outside the process (here a bare sqlite3 connection) holds the database: the
    ``no_wait`` write raises WriterBusy, the connection's busy timeout is back to the
    configured one, and the next writes (waiting, or not) go through."""
    db = _counter_db(tmp_path / "other.db")
    other = sqlite3.connect(tmp_path / "other.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(WriterBusy), db.no_wait():
            _add(db, 10)
    finally:
        other.execute("ROLLBACK")
        other.close()
    with db.read() as r:
        assert r.execute(text("PRAGMA busy_timeout")).scalar_one() == 5000
    with db.no_wait():
        _add(db, 1)
        _add(db, 2)  # a second write in the block waits as any other
    assert _value(db) == 3
    db.dispose()
