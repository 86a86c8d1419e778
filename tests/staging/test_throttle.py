"""The per-job bandwidth cap: the budget itself (on a fake clock) and a capped job end to end."""

from __future__ import annotations

import asyncio

from jupyter_astro_ops.staging.throttle import Throttle

from .test_service import make_service, req, wait


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> None:
        self.waits.append(round(seconds, 6))
        self.now += seconds


def test_a_thread_ahead_of_the_budget_waits_until_the_average_is_back_at_the_cap() -> None:
    clock = FakeClock()
    cap = Throttle(1000, clock.wait, burst=1.0, clock=clock)
    cap.sent(500)
    cap.sent(500)
    assert clock.waits == [0.5, 0.5]
    clock.now += 0.25  # spent elsewhere: counts toward the budget
    cap.sent(1000)
    assert clock.waits[-1] == 0.75


def test_idle_time_earns_at_most_the_burst_and_no_cap_never_waits() -> None:
    clock = FakeClock()
    cap = Throttle(1000, clock.wait, burst=1.0, clock=clock)
    cap.sent(1000)
    clock.now += 60  # a long idle spell
    cap.sent(3000)  # one second of credit, then the cap again
    assert clock.waits == [1.0, 2.0]
    free = Throttle(0, clock.wait, clock=clock)
    free.sent(10 << 30)
    assert clock.waits == [1.0, 2.0]


async def test_a_capped_job_copies_under_the_cap_and_can_be_cancelled_while_it_waits(
        db, tmp_path, staging_config, users, archive):
    (archive / "big.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    svc = make_service(db, tmp_path, staging_config, chunk_size=16 << 10,
                       progress_interval=0.05, max_bytes_per_second=256 << 10)
    await svc.runner.start()
    try:
        small = await asyncio.to_thread(svc.service.create_job, users["bob"],
                                        req("single.fits", "one.fits"))
        done = await wait(svc, users["bob"], small.id)
        big = await asyncio.to_thread(svc.service.create_job, users["bob"],
                                      req("big.bin", "big.bin"))
        for _ in range(400):
            job = await asyncio.to_thread(svc.service.get_job, users["bob"], big.id)
            if job.bytes_done > 0:
                break
            await asyncio.sleep(0.05)
        await asyncio.to_thread(svc.service.cancel_job, users["bob"], big.id)
        cancelled = await wait(svc, users["bob"], big.id)
    finally:
        await svc.runner.stop()
    assert done.status == "succeeded" and done.bytes_done == done.bytes_total > 0
    assert done.rate_bytes_per_s is not None and done.rate_bytes_per_s <= 256 << 10
    # four seconds of budget for 1 MiB: the cancel reached the job while it waited
    assert cancelled.status == "cancelled" and 0 < cancelled.bytes_done < cancelled.bytes_total
    assert not (tmp_path / "home" / "big.bin").exists()
