"""The asyncio scheduler of staging jobs: claims queued jobs and runs each in a worker thread.

At most ``max_jobs`` jobs run at once (one thread each), and their files share one pool of
``max_files`` threads, so the total I/O in flight is bounded whatever users submit. The event
loop only schedules: every database call and every byte of I/O runs in threads. New jobs wake
the loop at once (``wake()`` is thread-safe); a periodic poll also picks up jobs written by
other processes sharing the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .jobs import Flags
from .jobstore import JobStore

RunJob = Callable[[str, Flags], None]


def lower_priority(nice: int) -> None:
    """Raise the nice value of the calling thread only (Linux: per-thread priorities), so the
    event loop thread wins the CPU over copy and hash threads. Threads these ones start (the
    hash thread of a large file) inherit it."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, os.getpriority(
            os.PRIO_PROCESS, threading.get_native_id()) + nice))


class Runner:
    """Claim and run jobs; keep each running job's cancel/shutdown flags."""

    def __init__(self, store: JobStore, run_job: RunJob, *, max_jobs: int, max_files: int,
                 poll_interval: float, log: logging.Logger | logging.LoggerAdapter,
                 nice: int = 0) -> None:
        self.store = store
        self.run_job = run_job
        self.max_jobs = max(1, max_jobs)
        self.poll_interval = poll_interval
        self.log = log
        init = (lambda: lower_priority(nice)) if nice else None
        self.files_pool = ThreadPoolExecutor(max(1, max_files), thread_name_prefix="astro-file",
                                             initializer=init)
        self._jobs_pool = ThreadPoolExecutor(self.max_jobs, thread_name_prefix="astro-job",
                                             initializer=init)
        self._shutdown = threading.Event()
        self._flags: dict[str, Flags] = {}
        self._tasks: dict[str, asyncio.Future[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._main: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        resumed = await asyncio.to_thread(self.store.requeue_interrupted)
        if resumed:
            self.log.info("staging: resuming %d interrupted job(s)", len(resumed))
        self._main = asyncio.create_task(self._serve(), name="astro-staging-runner")

    def wake(self) -> None:
        """Look for queued jobs now (callable from any thread)."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def cancel(self, job_id: str, by: str) -> bool:
        """Signal a job running here; answers whether it was running in this process."""
        flags = self._flags.get(job_id)
        if flags is None:
            return False
        flags.cancelled_by = by
        flags.cancel.set()
        return True

    async def _serve(self) -> None:
        assert self._wake is not None
        while not self._shutdown.is_set():
            free = self.max_jobs - len(self._tasks)
            if free > 0:
                try:
                    for job_id in await asyncio.to_thread(self.store.claim, free):
                        self._launch(job_id)
                except Exception:
                    self.log.exception("staging: claiming jobs failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            self._wake.clear()

    def _launch(self, job_id: str) -> None:
        assert self._loop is not None
        flags = Flags(cancel=threading.Event(), shutdown=self._shutdown)
        self._flags[job_id] = flags
        fut = self._loop.run_in_executor(self._jobs_pool, self.run_job, job_id, flags)
        self._tasks[job_id] = fut

        def done(f: asyncio.Future[None]) -> None:
            self._tasks.pop(job_id, None)
            self._flags.pop(job_id, None)
            if not f.cancelled() and f.exception() is not None:
                self.log.error("staging job %s crashed", job_id, exc_info=f.exception())
            self.wake()

        fut.add_done_callback(done)

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; running jobs stop between chunks and stay ``running`` for resume."""
        self._shutdown.set()
        if self._main is not None:
            self._main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._main
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=timeout)
        self._jobs_pool.shutdown(wait=False, cancel_futures=True)
        self.files_pool.shutdown(wait=False, cancel_futures=True)

    @property
    def running(self) -> list[str]:
        return list(self._tasks)
