"""Schedule importer (SQLite and PostgreSQL): idempotent re-runs, replacement of the future,
clashes with local bookings logged and never overwritten, fsspec sources, dry runs, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import fsspec
import pytest
from sqlalchemy import func, select

from jupyter_astro_ops.activity.models import ActivityChange, ActivityEvent
from jupyter_astro_ops.calendar.lco.importer import LcoImporter
from jupyter_astro_ops.calendar.lco.models import ScheduleImport
from jupyter_astro_ops.calendar.models import Reservation
from jupyter_astro_ops.calendar.queries import to_out
from jupyter_astro_ops.calendar.schemas import ReservationOut
from jupyter_astro_ops.core.errors import Forbidden, NotFound, ValidationError
from jupyter_astro_ops.core.identity import User

from ..conftest import make_services
from .conftest import SITES, at

DATA = Path(__file__).parent / "data"
V1 = (DATA / "schedule_v1.json").as_uri()
V2 = (DATA / "schedule_v2.json").as_uri()


@pytest.fixture
def lco(services: Any) -> LcoImporter:
    return services.calendar.importer


@pytest.fixture
def importer(lco: LcoImporter) -> User:
    return lco.identity()


def import_schedule(lco: LcoImporter, user: User, site: str, source: str, **kw: Any) -> Any:
    return lco.import_schedule(user, site, source, **kw)


def imported(db: Any) -> dict[str, ReservationOut]:
    with db.read() as session:
        rows = session.scalars(select(Reservation).where(Reservation.origin == "lco"))
        return {r.external_id: to_out(r) for r in rows}


def activity_cursor(db: Any) -> tuple[int, int]:
    with db.read() as session:
        return (session.scalar(select(func.count()).select_from(ActivityEvent)) or 0,
                session.scalar(select(func.max(ActivityChange.seq))) or 0)


def test_first_run_adds_pending_observations(
    lco: LcoImporter, cal: Any, importer: User, db: Any
) -> None:
    summary = import_schedule(lco, importer, "saf", V1, now=at(-24))
    assert sorted(summary.added) == ["1001", "1002", "1003"]  # 1004 is CANCELED upstream
    assert (summary.updated, summary.cancelled, summary.clashes) == ([], [], [])
    rows = imported(db)
    assert set(rows) == {"1001", "1002", "1003"}
    r = rows["1002"]
    assert (r.origin, r.type, r.status, r.site) == ("lco", "project", "active", "saf")
    assert (r.start, r.end) == (at(3), at(4))
    assert r.title == "Target 1002 (via LCO)" and r.creator_name == "tbeccue (via LCO)"
    assert "LCOSchedulerTest" in r.note and "saf.enc1.0m35" in r.note
    with db.read() as session:
        track = session.get(ScheduleImport, "saf")
        assert track is not None and track.digest == summary.digest and track.source == V1
        kinds = session.execute(select(ActivityEvent.object_type, ActivityEvent.action)).all()
    assert sorted(kinds) == [("RESERVATION", "ADD")] * 3 + [("SCHEDULE_IMPORT", "MOD")]


def test_same_schedule_again_writes_nothing(
    lco: LcoImporter, cal: Any, importer: User, db: Any
) -> None:
    import_schedule(lco, importer, "saf", V1, now=at(-24))
    before, versions = activity_cursor(db), {k: r.version for k, r in imported(db).items()}
    again = import_schedule(lco, importer, "saf", V1, now=at(-20))
    assert again.schedule_unchanged and again.unchanged == 3
    assert (again.added, again.updated, again.cancelled) == ([], [], [])
    assert activity_cursor(db) == before
    assert {k: r.version for k, r in imported(db).items()} == versions
    # forcing a re-run still finds nothing to change
    forced = import_schedule(lco, importer, "saf", V1, now=at(-20), force=True)
    assert forced.unchanged == 3 and not forced.changed


def test_newer_schedule_replaces_the_future_only(
    lco: LcoImporter, cal: Any, importer: User, db: Any, book: Any, users: Any
) -> None:
    import_schedule(lco, importer, "saf", V1, now=at(-24))
    first = imported(db)
    local = book("bob", 11.5, 13, title="Bob's night")  # where v2 puts observation 1007
    before = activity_cursor(db)
    summary = import_schedule(lco, importer, "saf", V2, now=at(2.5))
    assert summary.updated == ["1002"] and summary.cancelled == ["1003"]
    assert summary.added == ["1006"]
    assert [c.external_id for c in summary.clashes] == ["1007"]
    assert summary.clashes[0].blocking[0]["id"] == local.id
    rows = imported(db)
    # 1001 had started before the import: left alone although v2 no longer lists it
    assert rows["1001"].status == "active" and rows["1001"].version == first["1001"].version
    moved = rows["1002"]
    assert moved.id == first["1002"].id and (moved.start, moved.end) == (at(3.5), at(4.5))
    assert moved.sequence == first["1002"].sequence + 1
    assert rows["1003"].status == "cancelled" and rows["1003"].cancelled_at == at(2.5)
    assert "1007" not in rows and "1008" not in rows
    kept = cal.get(users["bob"], local.id)
    assert (kept.status, kept.start, kept.end, kept.version) == ("active", at(11.5), at(13), 1)
    assert activity_cursor(db)[0] > before[0]


def test_clash_is_a_warning_event_naming_both(lco: LcoImporter, cal: Any, importer: User, db: Any,
                                              book: Any) -> None:
    local = book("carol", 11, 11.5)
    import_schedule(lco, importer, "saf", V2, now=at(-24))
    with db.read() as session:
        events = session.scalars(select(ActivityEvent).where(
            ActivityEvent.object_type == "SCHEDULE_IMPORT",
            ActivityEvent.status == "WARNING")).all()
        clash = next(e for e in events if e.data.get("clash"))
        object_id, data, log = clash.object_id, clash.data, clash.log
    assert object_id == "saf" and data["blocking"][0]["id"] == local.id
    warning = [entry for entry in log if entry["level"] == "warning"]
    assert len(warning) == 1
    assert "1007" in warning[0]["message"] and local.id in warning[0]["message"]
    assert "carol" in warning[0]["message"]


def test_imported_bookings_can_trade_slots(
    lco: LcoImporter, cal: Any, importer: User, db: Any
) -> None:
    fs = fsspec.filesystem("memory")
    url = f"memory://schedules/{uuid.uuid4().hex}.json"

    def publish(a: tuple[float, float], b: tuple[float, float]) -> None:
        fs.pipe(url.removeprefix("memory://"), json.dumps({"results": [
            {"id": "A", "start": at(a[0]).isoformat(), "end": at(a[1]).isoformat()},
            {"id": "B", "start": at(b[0]).isoformat(), "end": at(b[1]).isoformat()},
        ]}).encode())

    publish((1, 2), (2, 3))
    assert sorted(import_schedule(lco, importer, "saf", url, now=at(-1)).added) == ["A", "B"]
    publish((2, 3), (1, 2))  # a swap: each moves into the other's slot
    swapped = import_schedule(lco, importer, "saf", url, now=at(-1))
    assert sorted(swapped.updated) == ["A", "B"] and swapped.clashes == []
    rows = imported(db)
    assert (rows["A"].start, rows["B"].start) == (at(2), at(1))


def test_dry_run_changes_nothing(lco: LcoImporter, cal: Any, importer: User, db: Any) -> None:
    summary = import_schedule(lco, importer, "saf", V1, now=at(-24), dry_run=True)
    assert summary.dry_run and len(summary.added) == 3
    assert imported(db) == {} and activity_cursor(db) == (0, 0)
    with db.read() as session:
        assert session.get(ScheduleImport, "saf") is None


def test_memory_source_filters_and_bad_input(
    lco: LcoImporter, cal: Any, importer: User, db: Any
) -> None:
    fs = fsspec.filesystem("memory")
    path = f"schedules/{uuid.uuid4().hex}.json"
    fs.pipe(path, json.dumps([  # a bare list is accepted too
        {"id": 1, "start": at(1).isoformat(), "end": at(2).isoformat(), "telescope": "0m35"},
        {"id": 2, "start": at(1).isoformat(), "end": at(2).isoformat(), "telescope": "1m0"},
        {"id": 3, "start": "not a time", "end": at(2).isoformat(), "telescope": "0m35"},
    ]).encode())
    summary = import_schedule(lco, importer, "saf", f"memory://{path}", now=at(-1),
                              filters={"telescope": "0m35"})
    assert summary.added == ["1"] and len(summary.invalid) == 1
    with pytest.raises(NotFound):
        import_schedule(lco, importer, "saf", "memory://schedules/missing.json")
    fs.pipe("schedules/garbage.json", b"{not json")
    with pytest.raises(ValidationError):
        import_schedule(lco, importer, "saf", "memory://schedules/garbage.json")
    with pytest.raises(NotFound):
        import_schedule(lco, importer, "nowhere", f"memory://{path}")


def test_importing_needs_the_calendar_admin_role(lco: LcoImporter, cal: Any, users: Any) -> None:
    with pytest.raises(Forbidden):
        import_schedule(lco, users["bob"], "saf", V1)
    assert import_schedule(lco, users["dave"], "saf", V1, now=at(-24)).added


def test_periodic_import_runs_and_stops(db: Any) -> None:
    config = {"CalendarService": {"sites": SITES},
              "LcoImporter": {"sources": {"saf": V1}, "interval_seconds": 3600}}
    importer = make_services(db, config).calendar.importer

    async def scenario() -> None:
        await importer.loop.start()
        for _ in range(600):  # bounded wait for the first round (no timing assertion)
            if await asyncio.to_thread(_tracked, db):
                break
            await asyncio.sleep(0.05)
        await asyncio.wait_for(importer.loop.stop(), timeout=60)
        assert not importer.loop.running

    asyncio.run(scenario())
    assert _tracked(db)


def _tracked(db: Any) -> bool:
    with db.read() as session:
        return session.get(ScheduleImport, "saf") is not None


def test_cli_import(tmp_path: Path, db_url: str) -> None:
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "jupyter_server_config.json").write_text(json.dumps({
        "AstroOpsApp": {"db_url": db_url},
        "CalendarService": {"sites": {"saf": {"name": "Santa Fe", "timezone": "UTC"}}},
    }))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(cfg), "JUPYTER_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "jupyter_astro_ops.cli.main", "calendar", "import",
           "--site", "saf", "--source", V1]
    dry = subprocess.run([*cmd, "--dry-run"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert "added 3" in dry.stdout and "dry run" in dry.stdout
    real = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert real.returncode == 0, real.stderr
    assert "added 3" in real.stdout
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert "schedule unchanged" in again.stdout and "added 0" in again.stdout
    bad = subprocess.run([*cmd[:-2], "--source", "memory://nothing/here.json"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "no schedule" in bad.stderr


def test_concurrent_imports_of_one_schedule_apply_once(lco: LcoImporter, cal: Any, importer: User,
                                                       db: Any) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(
            lambda _: import_schedule(lco, importer, "saf", V1, now=at(-24)), range(4)))
    assert sorted(len(r.added) for r in results) == [0, 0, 0, 3]
    assert sum(r.schedule_unchanged for r in results) == 3
    assert len(imported(db)) == 3
    with db.read() as session:
        adds = session.scalar(select(func.count()).select_from(ActivityEvent).where(
            ActivityEvent.object_type == "RESERVATION"))
    assert adds == 3


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A moto S3 server on loopback (real HTTP, no mocks inside the importer)."""
    import logging

    from moto.server import ThreadedMotoServer

    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(key, value)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_s3_source_with_storage_options(
    lco: LcoImporter, cal: Any, db: Any, s3_endpoint: str
) -> None:
    options = {"endpoint_url": s3_endpoint, "key": "testing", "secret": "testing",
               "skip_instance_cache": True}
    fs = fsspec.filesystem("s3", **options)
    bucket = f"ops-{uuid.uuid4().hex[:12]}"  # moto keeps buckets for the whole process
    fs.mkdir(bucket)
    fs.pipe(f"{bucket}/saf.json", (DATA / "schedule_v1.json").read_bytes())
    config = {"CalendarService": {"sites": SITES},
              "LcoImporter": {"sources": {"saf": f"s3://{bucket}/saf.json"},
                              "storage_options": options}}
    importer = make_services(db, config).calendar.importer
    [summary] = importer.run_once(now=at(-24))
    assert sorted(summary.added) == ["1001", "1002", "1003"]
    assert importer.run_once(now=at(-24))[0].schedule_unchanged


def test_start_periodic_only_when_configured(db: Any, tmp_path: Path) -> None:
    async def scenario() -> None:
        plain = make_services(db, {"CalendarService": {"sites": SITES}}, str(tmp_path))
        assert not plain.calendar.importer.periodic  # no sources configured
        await plain.start()
        assert not plain.calendar.importer.loop.running
        await plain.stop()
        config = {"CalendarService": {"sites": SITES},
                  "LcoImporter": {"sources": {"saf": V1}, "interval_seconds": 3600.0}}
        configured = make_services(db, config, str(tmp_path))
        await configured.start()
        assert configured.calendar.importer.loop.running
        await configured.stop()
        assert not configured.calendar.importer.loop.running

    asyncio.run(scenario())
