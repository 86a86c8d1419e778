"""The asyncio scheduler of staging jobs: claims queued jobs and runs each in a worker thread.

At most ``max_jobs`` jobs run at once (one thread each), and their files share one pool of
``max_files`` threads, so the total I/O in flight is bounded whatever users submit. The event
loop only schedules: every database call and every byte of I/O runs in threads. A job queued
in this process wakes the loop at once (the service calls ``wake`` after its commit), and so
does one queued by another process sharing the database (the dashboard process, the CLI):
``activity.remote.RemoteChanges`` turns the commit of its ``STAGING_JOB`` event into a
wake-up (PostgreSQL ``NOTIFY``, SQLite ``PRAGMA data_version``). This process's own event
writes (its jobs' progress notes) wake nothing. The periodic poll (``BackgroundLoop``) stays
as the fallback and renews leases.

A job created in this process while a slot is free skips the queue altogether: the service
``reserve``s a slot, claims the job in the transaction that creates it, and ``launch``es it
here with its row in hand (no claim transaction, no read of the job: 10 of the 20 ms a
3-file job took from its POST to its end). Slots are one semaphore of ``max_jobs`` shared by
those hand-overs and the claim rounds, so the two never run more jobs than that together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Protocol

from ..core.lifecycle import BackgroundLoop
from .jobs import BatchCopier, Flags
from .jobstore import OBJECT_TYPE, JobEvents, JobStore
from .models import StagingJob


class JobExecutor(Protocol):
    """What the runner hands a claimed job to (the staging service)."""

    def run_job(self, job_id: str, flags: Flags, files_pool: Executor,
                copier: BatchCopier | None = None, job: StagingJob | None = None) -> None: ...


class Copier(BatchCopier, Protocol):
    """The worker processes the runner hands to every job, and stops with itself."""

    def stop(self) -> None: ...

    def restart(self) -> None: ...


def lower_priority(nice: int) -> None:
    """Raise the nice value of the calling thread only (Linux: per-thread priorities), so the
    event loop thread wins the CPU over copy and hash threads. Threads these ones start (the
    hash thread of a large file) inherit it."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, os.getpriority(
            os.PRIO_PROCESS, threading.get_native_id()) + nice))


class Runner:
    """Claim and run jobs; keep each running job's shutdown flags."""

    def __init__(self, store: JobStore, executor: JobExecutor, events: JobEvents, *,
                 max_jobs: int, max_files: int, poll_interval: float,
                 log: logging.Logger | logging.LoggerAdapter[logging.Logger],
                 nice: int = 0, copier: Copier | None = None) -> None:
        self.store = store
        self.executor = executor
        self.copier = copier
        self.events = events
        self.max_jobs = max(1, max_jobs)
        self.log = log
        init = (lambda: lower_priority(nice)) if nice else None
        self.files_pool = ThreadPoolExecutor(max(1, max_files), thread_name_prefix="astro-file",
                                             initializer=init)
        self._jobs_pool = ThreadPoolExecutor(self.max_jobs, thread_name_prefix="astro-job",
                                             initializer=init)
        self._shutdown = threading.Event()
        # a slot per job running or about to (reserved by a hand-over or a claim round)
        self._slots = threading.BoundedSemaphore(self.max_jobs)
        self._tasks: dict[str, asyncio.Future[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_sweep = float("-inf")
        self._last_renew = float("-inf")
        self.loop = BackgroundLoop("astro-staging-runner", self._claim_round,
                                   interval=poll_interval, log=log)

    @property
    def running(self) -> list[str]:
        """Ids of the jobs running in this process."""
        return list(self._tasks)

    async def start(self) -> None:
        """Resume jobs interrupted by a previous stop or crash, then claim queued jobs."""
        if self.loop.running:
            return
        self._loop = asyncio.get_running_loop()
        self._shutdown.clear()
        if self.copier is not None:
            self.copier.restart()
        resumed = await asyncio.to_thread(self.store.requeue_interrupted)
        if resumed:
            self.log.info("staging: resuming %d interrupted job(s)", len(resumed))
        self.events.add_listener(self.wake, {OBJECT_TYPE}, local=False)
        await self.loop.start()

    # -- hand-over of a job created in this process (any thread) --------------------------------
    def reserve(self) -> bool:
        """Take a slot for a job about to be created here, if the runner is running and has
        one free; the caller then ``launch``es the job it claimed, or ``unreserve``s."""
        if self._loop is None or self._shutdown.is_set() or not self.loop.running:
            return False
        return self._slots.acquire(blocking=False)

    def unreserve(self) -> None:
        """Give back a slot ``reserve`` took (the job was not created)."""
        self._slots.release()

    def launch(self, job: StagingJob) -> None:
        """Run ``job``, created and claimed by this runner's store in one transaction, in the
        slot reserved for it (its row is the committed one: nothing is read again). If the
        event loop has closed meanwhile (the server is stopping), the slot is given back and
        the job's lease runs out: any runner of its scope resumes it then."""
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._launch, job.id, job)
        except RuntimeError:  # the loop is closed
            self._slots.release()

    def wake(self, _written: frozenset[str] = frozenset()) -> None:
        """Look for queued jobs now (callable from any thread)."""
        self.loop.wake()

    async def _claim_round(self) -> None:
        """Renew the leases of the jobs running here, requeue jobs whose runner died, then
        claim what fits.

        Leases are renewed at most every ``lease_seconds / 4`` (progress writes renew them
        too): a round runs after every wake-up, and a write on each would compete for
        SQLite's write lock with the jobs' own writes (each loser sleeps in the busy handler).
        """
        now = time.monotonic()
        if self._tasks and now - self._last_renew >= self.store.lease_seconds / 4:
            self._last_renew = now
            await asyncio.to_thread(self.store.renew, list(self._tasks))
        if time.monotonic() - self._last_sweep >= self.store.lease_seconds / 4:
            self._last_sweep = time.monotonic()
            requeued = await asyncio.to_thread(self.store.requeue_expired)
            if requeued:
                self.log.warning("staging: %d job(s) lost their runner; queued again",
                                 len(requeued))
        if self._shutdown.is_set() or not await asyncio.to_thread(self.store.any_queued):
            return
        free = 0  # slots are held only for the claim itself (a hand-over may want one)
        while not self._shutdown.is_set() and self._slots.acquire(blocking=False):
            free += 1
        claimed: list[str] = []
        try:
            if free:
                claimed = await asyncio.to_thread(self.store.claim, free)
        finally:
            for _ in range(free - len(claimed)):
                self._slots.release()
        for job_id in claimed:
            self._launch(job_id)

    def _launch(self, job_id: str, job: StagingJob | None = None) -> None:
        """Run a claimed job in the slot taken for it (given back when it ends)."""
        assert self._loop is not None
        flags = Flags(cancel=threading.Event(), shutdown=self._shutdown)
        fut = self._loop.run_in_executor(self._jobs_pool, self.executor.run_job, job_id, flags,
                                         self.files_pool, self.copier, job)
        self._tasks[job_id] = fut

        def done(f: asyncio.Future[None]) -> None:
            self._tasks.pop(job_id, None)
            self._slots.release()
            if not f.cancelled() and f.exception() is not None:
                self.log.error("staging job %s crashed", job_id, exc_info=f.exception())
            self.wake()

        fut.add_done_callback(done)

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; running jobs stop between chunks and go back to the queue, where the
        next runner of their scope resumes them (a job whose thread did not stop in
        ``timeout`` keeps its claim until its lease runs out)."""
        self.events.remove_listener(self.wake)
        self._shutdown.set()
        await self.loop.stop()
        held = list(self._tasks)
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=timeout)
        stopped = [job_id for job_id in held if job_id not in self._tasks]
        released = await asyncio.to_thread(self.store.release, stopped)
        if released:
            self.log.info("staging: %d job(s) handed back to the queue", len(released))
        self._jobs_pool.shutdown(wait=False, cancel_futures=True)
        self.files_pool.shutdown(wait=False, cancel_futures=True)
        if self.copier is not None:
            await asyncio.to_thread(self.copier.stop)
