"""Cross-process wake-ups (``activity.remote``) on SQLite and PostgreSQL.

Two sets of parts on one database stand for two processes. A commit through one wakes the
other's listeners long before any poll would (the polls are set to a minute), and a staging
job queued by the "dashboard" is started by the "server" runner. No timing is asserted: the
waits only bound how long a broken wake-up may hang the test.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from jupyter_astro_ops.core.identity import User
from jupyter_astro_ops.staging.schemas import JobCreate

from ..conftest import make_services


def test_a_commit_elsewhere_wakes_the_listeners(db) -> None:
    here, there = make_services(db), make_services(db)
    got: list[frozenset[str]] = []
    woke = threading.Event()

    def listener(types: frozenset[str]) -> None:
        got.append(types)
        woke.set()

    here.activity.events.add_listener(listener, {"RESOURCE"})
    here.activity.remote.start()
    try:
        with db.write() as session:  # "there" writes: another process's commit
            there.activity.events.record(session, "bob", action="ADD", object_type="RESOURCE",
                                         object_id="frame1")
        assert woke.wait(20), "the other process's commit did not wake the listener"
        assert frozenset({"RESOURCE"}) in got
    finally:
        here.activity.remote.stop()


async def test_a_job_queued_by_another_process_starts_without_a_poll(db, tmp_path: Path
                                                                     ) -> None:
    src = tmp_path / "archive"
    (src / "night").mkdir(parents=True)
    (src / "night" / "a.fits").write_bytes(b"x" * 5000)
    work = tmp_path / "work"
    work.mkdir()
    config = {"StagingService": {"roots": {"archive": {"url": src.as_uri()}},
                                 "poll_interval": 60.0}}
    server = make_services(db, config, str(work))
    dashboard = make_services(db, config, str(work))  # never started: it only queues
    await server.start(background=True, feed=False)
    try:
        user = User("bob", "Bob")
        job = await asyncio.to_thread(dashboard.staging.service.create_job, user,
                                      JobCreate.model_validate({
                                          "source": {"root": "archive", "path": "night"},
                                          "target": "night"}))
        for _ in range(400):  # 20 s, a third of the poll interval
            got = await asyncio.to_thread(server.staging.service.get_job, user, job.id)
            if got.status == "succeeded":
                break
            await asyncio.sleep(0.05)
        assert got.status == "succeeded", got
        assert (work / "night" / "a.fits").read_bytes() == b"x" * 5000
    finally:
        await server.stop()
