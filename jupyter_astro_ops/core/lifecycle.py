"""One lifecycle for every background loop: start, stop, wake, interval, error logging.

The live feed, the request worker, the staging runner and the periodic importers all do the
same thing: run one *round* of work, then sleep for ``interval`` seconds or until someone calls
``wake()`` (from any thread: a commit listener runs in the writing thread), and log a failed
round instead of dying. ``BackgroundLoop`` is that loop, written once::

    loop = BackgroundLoop("astro-ops-activity-worker", worker.round, interval=1.0, log=log)
    await loop.start()      # on the event loop that should run it
    loop.wake()             # thread-safe: run a round now
    await loop.stop()       # finish the current round (or give up after ``stop_timeout``)

``work`` (one round) is an ``async`` callable; blocking work inside it goes through
``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

Round = Callable[[], Awaitable[object]]


class BackgroundLoop:
    """Runs ``work()`` every ``interval`` seconds, or at once after ``wake()``."""

    def __init__(self, name: str, work: Round, *, interval: float,
                 log: logging.Logger | logging.LoggerAdapter[logging.Logger],
                 stop_timeout: float = 30.0) -> None:
        self.name = name
        self.work = work
        self.interval = interval
        self.log = log
        self.stop_timeout = stop_timeout
        self.rounds = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        """True while the loop's task is alive."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start on the running event loop (no-op if already running)."""
        if self.running:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Let the current round finish, then end; cancel it after ``stop_timeout`` seconds."""
        task, self._task = self._task, None
        self._stopping = True
        if task is None:
            return
        if self._wake is not None:
            self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), self.stop_timeout)
        except asyncio.TimeoutError:
            self.log.warning("%s did not finish its round in %.0f s; cancelled", self.name,
                             self.stop_timeout)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """Thread-safe: run a round as soon as the current one (if any) ends."""
        loop, event = self._loop, self._wake
        if loop is None or event is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(event.set)

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            try:
                await self.work()
            except Exception:
                self.log.exception("%s: round failed", self.name)
            self.rounds += 1
            if self._stopping:
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)


__all__ = ["BackgroundLoop", "Round"]
