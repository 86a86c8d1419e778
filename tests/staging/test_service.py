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


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "named-temp"])
async def test_resume_after_a_crash_skips_verified_files(db, tmp_path, staging_config, users,
                                                         archive, unnamed):
    """Simulate a server killed mid-job: some files done, one temp file left behind."""
    svc = make_service(db, tmp_path, staging_config, unnamed_temp_files=unnamed)
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
    inodes = {p: p.stat().st_ino for p in home.rglob("*") if p.is_file()}
    verified = {p for p in inodes
                if p.name != "bias.fits" and not p.name.endswith(".astro-part")}
    svc2 = make_service(db, tmp_path, staging_config, unnamed_temp_files=unnamed)
    await svc2.runner.start()
    try:
        done = await wait(svc2, users["bob"], job.id)
    finally:
        await svc2.runner.stop()
    assert done.status == "succeeded"
    assert tree_files(home) == tree_files(archive / "night1")  # no temp file either
    assert verified and all(p.stat().st_ino == inodes[p] for p in verified)  # not re-copied
    bias = home / "calib" / "bias.fits"
    assert bias.stat().st_ino != inodes[bias]  # the corrupt one was copied again
    log = svc2.service.job_log(users["bob"], job.id)
    assert any("server restarted" in e.message for e in log.entries)


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "named-temp"])
async def test_cancel_a_running_job(db, tmp_path, staging_config, users, archive,
                                    gated_copies, unnamed):
    big = archive / "big.bin"
    big.write_bytes(os.urandom(4 << 20))
    svc = make_service(db, tmp_path, staging_config, chunk_size=64 << 10,
                       progress_interval=0.05, unnamed_temp_files=unnamed)
    await svc.runner.start()
    try:
        job = await asyncio.to_thread(svc.service.create_job,
                                      users["bob"], req("big.bin", "big.bin"))
        assert await asyncio.to_thread(gated_copies.started.wait, 60)  # mid-copy now
        assert (await asyncio.to_thread(svc.service.get_job, users["bob"],
                                        job.id)).status == "running"
        await asyncio.to_thread(svc.service.cancel_job, users["bob"], job.id)
        done = await wait(svc, users["bob"], job.id)
    finally:
        await svc.runner.stop()
    assert done.status == "cancelled" and done.cancel_requested_by == "bob"
    assert os.listdir(tmp_path / "home") == []  # no partial file, no temporary file


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
    await svc.runner.start()  # the job's own server takes it, and it lands in its home
    try:
        done = await wait(svc, users["bob"], job.id)
    finally:
        await svc.runner.stop()
    assert done.status == "succeeded"
    assert (tmp_path / "home" / "single.fits").is_file() and not os.listdir(other_home)
