"""Runners sharing one database (SQLite and PostgreSQL): the JupyterHub worker's scope (every
user's home, nothing else), leases that let another runner take over a dead one's job, and a
runner that lost its lease writing nothing more."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from jupyter_astro_ops.staging.jobstore import LostClaim
from jupyter_astro_ops.staging.schemas import JobCreate

from ..conftest import make_services
from .conftest import FINAL


def req(path: str, target: str) -> JobCreate:
    return JobCreate.model_validate({"source": {"root": "archive", "path": path},
                                     "target": target})


@pytest.fixture
def homes(tmp_path: Path) -> Path:
    for user in ("bob", "carol"):
        (tmp_path / "home" / user).mkdir(parents=True)
    return tmp_path / "home"


def user_server(db: Any, config: dict[str, Any], home: Path) -> Any:
    """The parts of one user's single-user server (queues jobs, runs none)."""
    return make_services(db, {"StagingService": config}, str(home)).staging


def worker(db: Any, config: dict[str, Any], homes: Path, **store: Any) -> Any:
    """The parts of one ``jupyter astro-ops worker`` process."""
    return make_services(db, {"StagingService": config, "JobStore": {
        "home_template": str(homes / "{username}"), **store}}, None).staging


async def wait_all(parts: Any, users: dict[str, Any], jobs: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _ in range(1200):  # bounded wait (no timing assertion)
        for job in jobs:
            state = await asyncio.to_thread(parts.service.get_job, users[job.username], job.id)
            if state.status in FINAL:
                out[job.id] = state
        if len(out) == len(jobs):
            return out
        await asyncio.sleep(0.05)
    raise AssertionError(f"jobs did not finish: {set(j.id for j in jobs) - set(out)}")


async def test_two_workers_run_every_users_jobs_once(db, users, staging_config, homes,
                                                     tmp_path, archive) -> None:
    jobs = []
    for user in ("bob", "carol"):
        server = user_server(db, staging_config, homes / user)
        for i in range(3):
            jobs.append(server.service.create_job(users[user], req("night1", f"n{i}")))
    stranger = user_server(db, staging_config, tmp_path / "elsewhere")  # not a user's home
    (tmp_path / "elsewhere").mkdir()
    odd = stranger.service.create_job(users["bob"], req("single.fits", ""))
    workers = [worker(db, staging_config, homes) for _ in range(2)]
    for w in workers:
        await w.runner.start()
    try:
        done = await wait_all(workers[0], users, jobs)
    finally:
        for w in workers:
            await w.runner.stop()
    assert {s.status for s in done.values()} == {"succeeded"}
    for job in jobs:
        assert (homes / job.username / job.target / "frame001.fits").is_file()
    with db.read() as session:  # each job ran once: one "started", never "resumed"
        from jupyter_astro_ops.activity.models import ActivityEvent

        for job in jobs:
            log = session.get(ActivityEvent, job.event_id).log
            assert [e["message"] for e in log].count("started") == 1
            assert not any(e["message"] == "resumed" for e in log)
    assert stranger.service.get_job(users["bob"], odd.id).status == "queued"
    assert not any(p.is_file() for p in (tmp_path / "elsewhere").rglob("*"))
    # a process of the UserHomes scope (the dashboards' Hub service) queues into the user's home
    queued = workers[0].service.create_job(users["carol"], req("night1", "x"))
    with db.read() as session:
        from jupyter_astro_ops.staging.models import StagingJob

        assert session.get(StagingJob, queued.id).root_dir == str((homes / "carol").resolve())


async def test_a_dead_runners_job_is_taken_over_after_its_lease(db, users, staging_config,
                                                               homes) -> None:
    server = user_server(db, staging_config, homes / "bob")
    job = server.service.create_job(users["bob"], req("night1", "n1"))
    dead = worker(db, staging_config, homes, lease_seconds=0.5)
    assert dead.service.store.claim(1) == [job.id]  # ...and this worker dies holding it
    alive = worker(db, staging_config, homes, lease_seconds=0.5)
    await alive.runner.start()
    try:
        done = await wait_all(alive, users, [job])
    finally:
        await alive.runner.stop()
    assert done[job.id].status == "succeeded"
    assert (homes / "bob" / "n1" / "calib" / "bias.fits").is_file()
    log = server.service.job_log(users["bob"], job.id)
    assert any("stopped answering" in e.message for e in log.entries)
    # the dead runner, come back to life, may write nothing more about the job
    with pytest.raises(LostClaim), db.write() as session:
        dead.service.store._own(session, job.id)
    dead.service.store.finish(job.id, "failed", "too late", [])
    assert server.service.get_job(users["bob"], job.id).status == "succeeded"
