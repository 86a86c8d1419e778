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

import pytest

from jupyter_astro_ops.activity.models import ActivityEvent
from jupyter_astro_ops.staging import jobs
from jupyter_astro_ops.staging.models import StagingJob

from .test_service import make_service, req, wait


@pytest.fixture
def gated_runs(monkeypatch):
    """Every job run waits for ``gate`` (up to 30 s) before it copies; ``active[0]`` counts the
    runs under way, ``most[0]`` the most there ever were at once."""
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
    yield gate, active, most
    gate.set()


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
                                                     archive, gated_runs):
    gate, active, most = gated_runs
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
        # six more at once, from six threads, while both slots are taken
        created += await asyncio.gather(*(
            asyncio.to_thread(svc.service.create_job, users["bob"],
                              req("single.fits", f"copy{i}.fits")) for i in range(3, 9)))
        assert [j.status for j in created[3:]] == ["queued"] * 6
        gate.set()  # the rest start as slots free: wake-ups, not the hour's poll
        done = [await wait(svc, users["bob"], j.id) for j in created]
    finally:
        gate.set()
        await svc.runner.stop()
    assert [j.status for j in done] == ["succeeded"] * 9
    assert most[0] == 2  # never more than max_concurrent_jobs, hand-overs and claims together
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == [
        f"copy{i}.fits" for i in range(9)]


async def test_jobs_created_at_once_never_take_more_than_the_slots(
        db, tmp_path, staging_config, users, archive, gated_runs):
    gate, active, most = gated_runs
    svc = make_service(db, tmp_path, staging_config, poll_interval=3600,
                       max_concurrent_jobs=3)
    await svc.runner.start()
    try:
        created = await asyncio.gather(*(
            asyncio.to_thread(svc.service.create_job, users["bob"],
                              req("single.fits", f"c{i}.fits")) for i in range(8)))
        # each job was handed over or queued, as the slots allowed when it was created
        assert sorted(j.status for j in created).count("running") <= 3
        gate.set()
        done = [await wait(svc, users["bob"], j.id) for j in created]
    finally:
        gate.set()
        await svc.runner.stop()
    assert [j.status for j in done] == ["succeeded"] * 8
    assert 1 <= most[0] <= 3


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


async def test_a_hand_over_to_a_closed_loop_gives_its_slot_back(db, tmp_path, staging_config):
    svc = make_service(db, tmp_path, staging_config, poll_interval=3600,
                       max_concurrent_jobs=1)
    await svc.runner.start()
    try:
        assert svc.runner.reserve()
        closed = asyncio.new_event_loop()
        closed.close()
        live, svc.runner._loop = svc.runner._loop, closed  # the server's loop, as at exit
        try:
            svc.runner.launch(StagingJob(id="f" * 32))  # never run: only the slot matters
        finally:
            svc.runner._loop = live
        assert svc.runner.reserve()  # the one slot is free again
        svc.runner.unreserve()
    finally:
        await svc.runner.stop()
