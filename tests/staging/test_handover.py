"""A job created in the runner's own process starts in the transaction that creates it.

``StagingService.create_job`` reserves a slot of the runner (``Runner.reserve``), claims the
job as it inserts it and hands the row over; jobs that find no slot are queued and taken by
a claim round when a slot frees. The poll interval is an hour here, so every start below
comes from a hand-over or a wake-up, never from the poll. No timing is asserted: the waits
only bound how long a broken hand-over may hang the test.
"""

from __future__ import annotations

import asyncio
import threading

from jupyter_astro_ops.activity.models import ActivityEvent
from jupyter_astro_ops.staging import jobs

from .test_service import make_service, req, wait


async def test_a_job_created_here_is_running_when_created(db, tmp_path, staging_config,
                                                          users, archive):
    svc = make_service(db, tmp_path, staging_config, poll_interval=3600)
    await svc.runner.start()
    try:
        job = await asyncio.to_thread(svc.service.create_job, users["bob"], req("night1", "n1"))
        assert job.status == "running" and job.started is not None
        done = await wait(svc, users["bob"], job.id)
    finally:
        await svc.runner.stop()
    assert done.status == "succeeded" and done.files_copied == 6
    with db.read() as s:
        log = [e["message"] for e in s.get_one(ActivityEvent, job.event_id).log]
    # the audit trail is the queue's: queued, then started (one transaction), then the rest
    assert log[0].endswith("queued") and log[1] == "started", log


async def test_hand_overs_and_claims_share_the_slots(db, tmp_path, staging_config, users,
                                                     archive, monkeypatch):
    gate = threading.Event()
    lock = threading.Lock()
    active, most = [0], [0]
    real_run = jobs.JobRun.run

    def gated_run(self):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            gate.wait(30)
            real_run(self)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(jobs.JobRun, "run", gated_run)
    svc = make_service(db, tmp_path, staging_config, poll_interval=3600,
                       max_concurrent_jobs=2)
    await svc.runner.start()
    try:
        created = [await asyncio.to_thread(svc.service.create_job, users["bob"],
                                           req("single.fits", f"copy{i}.fits"))
                   for i in range(3)]
        assert [j.status for j in created] == ["running", "running", "queued"]
        for _ in range(600):
            if active[0] == 2:
                break
            await asyncio.sleep(0.05)
        gate.set()  # the third starts when a slot frees: a wake-up, not the hour's poll
        done = [await wait(svc, users["bob"], j.id) for j in created]
    finally:
        gate.set()
        await svc.runner.stop()
    assert [j.status for j in done] == ["succeeded"] * 3
    assert most[0] == 2
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == [
        "copy0.fits", "copy1.fits", "copy2.fits"]


async def test_the_jobs_own_events_do_not_wake_the_runner(db, tmp_path, staging_config,
                                                          users, archive):
    svc = make_service(db, tmp_path, staging_config, poll_interval=3600)
    await svc.runner.start()
    try:
        for _ in range(600):
            if svc.runner.loop.rounds:
                break
            await asyncio.sleep(0.05)
        before = svc.runner.loop.rounds
        job = await asyncio.to_thread(svc.service.create_job, users["bob"], req("night1", "n1"))
        assert (await wait(svc, users["bob"], job.id)).status == "succeeded"
        for _ in range(600):  # the slot the job gave back wakes one round
            if svc.runner.loop.rounds > before:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        # started, planned and finished: three commits of its event, and a single round
        assert svc.runner.loop.rounds == before + 1
    finally:
        await svc.runner.stop()
