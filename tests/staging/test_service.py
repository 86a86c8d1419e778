"""Service tests on the parametrized database (SQLite and PostgreSQL): run, resume, cancel."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import select, update

from jupyter_astro_ops.activity.models import ActivityEvent
from jupyter_astro_ops.core.errors import Forbidden, NotFound
from jupyter_astro_ops.staging.models import StagingFile, StagingJob
from jupyter_astro_ops.staging.schemas import JobCreate, JobQuery

from ..conftest import make_services
from .conftest import FINAL, tree_files


def make_service(db, tmp_path, config, home="home", **extra):
    """The staging parts (service + runner) of one 'server' whose working directory is
    ``tmp_path / home``, built by the composition root."""
    root_dir = tmp_path / home
    root_dir.mkdir(exist_ok=True)
    return make_services(db, {"StagingService": {**config, **extra}}, str(root_dir)).staging


async def wait(svc, user, job_id, timeout=60.0):
    for _ in range(int(timeout / 0.05)):
        job = await asyncio.to_thread(svc.service.get_job, user, job_id)
        if job.status in FINAL:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def req(path, target, method="copy"):
    return JobCreate.model_validate({"source": {"root": "archive", "path": path},
                                     "target": target, "method": method})


async def test_copy_tree_and_list(db, tmp_path, staging_config, users, archive):
    svc = make_service(db, tmp_path, staging_config)
    await svc.runner.start()
    try:
        job = await asyncio.to_thread(svc.service.create_job, users["bob"], req("night1", "n1"))
        done = await wait(svc, users["bob"], job.id)
    finally:
        await svc.runner.stop()
    assert done.status == "succeeded" and done.files_copied == 6
    assert tree_files(tmp_path / "home" / "n1") == tree_files(archive / "night1")
    assert [j.id for j in svc.service.list_jobs(users["bob"], JobQuery())] == [job.id]
    assert svc.service.list_jobs(users["carol"], JobQuery()) == []
    with pytest.raises(NotFound):
        svc.service.get_job(users["carol"], job.id)
    with pytest.raises(Forbidden):
        svc.service.list_jobs(users["carol"], JobQuery(all=True))
    assert svc.service.get_job(users["alice"], job.id).id == job.id


async def test_resume_after_a_crash_skips_verified_files(db, tmp_path, staging_config, users,
                                                         archive):
    """Simulate a server killed mid-job: some files done, one temp file left behind."""
    svc = make_service(db, tmp_path, staging_config)
    await svc.runner.start()
    job = await asyncio.to_thread(svc.service.create_job, users["bob"], req("night1", "n1"))
    await wait(svc, users["bob"], job.id)
    await svc.runner.stop()
    home = tmp_path / "home" / "n1"
    (home / "frame001.fits").unlink()
    (home / f".frame001.fits.{job.id[:12]}.astro-part").write_bytes(b"partial")
    (home / "calib" / "bias.fits").write_bytes(b"corrupt after a power cut")
    with db.write() as s:
        s.execute(update(StagingFile).where(StagingFile.job_id == job.id,
                                            StagingFile.relpath.in_(["frame001.fits"]))
                  .values(state="pending", checksum=None))
        row = s.get(StagingJob, job.id)
        row.status, row.finished = "running", None
        s.execute(update(ActivityEvent).where(ActivityEvent.id == row.event_id)
                  .values(status="RUNNING"))
    svc2 = make_service(db, tmp_path, staging_config)
    await svc2.runner.start()
    try:
        done = await wait(svc2, users["bob"], job.id)
    finally:
        await svc2.runner.stop()
    assert done.status == "succeeded"
    assert tree_files(home) == tree_files(archive / "night1")  # no temp file either
    log = svc2.service.job_log(users["bob"], job.id)
    assert any("server restarted" in e.message for e in log.entries)


async def test_cancel_a_running_job(db, tmp_path, staging_config, users, archive):
    big = archive / "big.bin"
    with open(big, "wb") as f:
        f.truncate(256 << 20)  # sparse: fast to make, slow enough to copy in 64 KiB chunks
    svc = make_service(db, tmp_path, staging_config, chunk_size=64 << 10)
    await svc.runner.start()
    try:
        job = await asyncio.to_thread(svc.service.create_job,
                                      users["bob"], req("big.bin", "big.bin"))
        for _ in range(400):
            if (await asyncio.to_thread(svc.service.get_job,
                                        users["bob"], job.id)).status == "running":
                break
            await asyncio.sleep(0.02)
        await asyncio.to_thread(svc.service.cancel_job, users["bob"], job.id)
        done = await wait(svc, users["bob"], job.id)
    finally:
        await svc.runner.stop()
    assert done.status in ("cancelled", "succeeded")  # a fast disk may win the race
    if done.status == "cancelled":
        assert done.cancel_requested_by == "bob"
        assert not (tmp_path / "home" / "big.bin").exists()
    assert not list((tmp_path / "home").glob(".*astro-part"))


async def test_two_runners_never_take_each_others_jobs(db, tmp_path, staging_config, users):
    svc = make_service(db, tmp_path, staging_config)
    other_home = tmp_path / "other"
    other = make_service(db, tmp_path, staging_config, home="other")
    job = svc.service.create_job(users["bob"], req("single.fits", ""))
    await other.runner.start()
    await asyncio.sleep(0.5)
    await other.runner.stop()
    assert svc.service.get_job(users["bob"], job.id).status == "queued"
    assert not os.listdir(other_home)
    with db.read() as s:
        assert s.scalars(select(StagingJob.root_dir)).all() == [str(Path(tmp_path / "home"))]
