"""The request worker: carries out APPROVED/WAITING requests exactly once, and never loses one.

MySlice's workers skipped the save on an exception, so events stayed ``NEW`` forever. Here:

* **claim** is compare-and-set: ``APPROVED|WAITING -> RUNNING`` with ``attempts + 1`` and a
  lease (``lease_until``); of two workers racing for one event, one write fails on the version.
* **execute** performs the request and moves the event to ``SUCCESS`` in *one* transaction,
  checked against the claimed version, so a worker whose lease was taken over changes nothing.
* a failure is logged and retried (``RUNNING -> WAITING``) until ``max_attempts``, then
  ``ERROR``; a request that can never succeed (name taken, ...) fails at once.
* **sweep**: ``RUNNING`` past its lease (a crashed worker) is retried or failed; ``NEW`` older
  than ``new_grace_seconds`` (a crash between insert and routing) is routed.

The asyncio loop polls about once a second and is woken by the service's commit listener; all
database work runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.db import Database
from ..core.errors import AstroOpsError, Conflict
from ..core.identity import User
from ..core.timeutil import utcnow
from .models import ActivityEvent
from .schemas import EventOut
from .states import Action, Status

CLAIMABLE = (Status.APPROVED.value, Status.WAITING.value)


class WorkerHost(Protocol):
    """What the worker needs from ``ActivityService``."""

    db: Database
    log: logging.Logger
    lease_seconds: float
    max_attempts: int
    new_grace_seconds: float

    def transition(self, session: Session, row: ActivityEvent, status: Status | str, *,
                   message: str, level: str = ..., manager: str | None = ...,
                   data: dict[str, Any] | None = ...) -> ActivityEvent: ...
    def route_request(self, event_id: str, user: User | None = None) -> EventOut: ...
    def carry_out(self, session: Session, row: ActivityEvent) -> str: ...
    def add_listener(self, listener: Callable[[], None]) -> None: ...
    def remove_listener(self, listener: Callable[[], None]) -> None: ...


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one event: valid while the row still has ``version``."""

    event_id: str
    version: int
    attempts: int


class LostClaim(Exception):
    """The event changed since it was claimed (lease expired and someone else took it)."""


class Refused(Exception):
    """The request can never succeed; fail it without retrying."""


def _requests() -> Any:
    return select(ActivityEvent.id).where(
        ActivityEvent.action == Action.REQ.value, ActivityEvent.object_type == "PROJECT")


class RequestWorker:
    """Claims, executes, retries and sweeps project requests (see the module docstring)."""

    def __init__(self, host: WorkerHost, *, poll_interval: float = 1.0,
                 sweep_interval: float = 5.0, batch: int = 50) -> None:
        self.host = host
        self.poll_interval = poll_interval
        self.sweep_interval = sweep_interval
        self.batch = batch
        self.name = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._last_sweep = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    @property
    def log(self) -> logging.Logger:
        return self.host.log

    # -- claiming ------------------------------------------------------------------------------
    def claim(self, now: datetime | None = None) -> Claim | None:
        """Take the oldest claimable request (``None`` if there is none)."""
        now = now or utcnow()
        with self.host.db.read() as session:
            stmt = _requests().where(ActivityEvent.status.in_(CLAIMABLE))
            ids = list(session.scalars(stmt.order_by(ActivityEvent.seq).limit(self.batch)))
        for event_id in ids:
            claim = self._try_claim(event_id, now)
            if claim is not None:
                return claim
        return None

    def _try_claim(self, event_id: str, now: datetime) -> Claim | None:
        try:
            with self.host.db.write() as session:
                row = session.get(ActivityEvent, event_id)
                if row is None or row.status not in CLAIMABLE:
                    return None
                row.attempts = (row.attempts or 0) + 1
                row.lease_until = now + timedelta(seconds=self.host.lease_seconds)
                self.host.transition(session, row, Status.RUNNING,
                                     message=f"attempt {row.attempts} by worker {self.name}")
                return Claim(row.id, row.version, row.attempts)
        except Conflict:  # another worker claimed it first (compare-and-set lost)
            return None

    def _owned(self, session: Session, claim: Claim) -> ActivityEvent:
        row = session.get(ActivityEvent, claim.event_id)
        if row is None or row.version != claim.version or row.status != Status.RUNNING.value:
            raise LostClaim(claim.event_id)
        return row

    # -- executing -----------------------------------------------------------------------------
    def execute(self, claim: Claim) -> Status | None:
        """Carry out a claimed request; returns the final status, ``None`` if the claim was lost."""
        try:
            with self.host.db.write() as session:
                row = self._owned(session, claim)
                try:
                    message = self.host.carry_out(session, row)
                except AstroOpsError as exc:
                    raise Refused(exc.message) from exc
                row.lease_until = None
                self.host.transition(session, row, Status.SUCCESS, message=message)
                return Status.SUCCESS
        except (LostClaim, Conflict):
            self.log.info("activity worker lost its claim on %s", claim.event_id)
            return None
        except Refused as exc:
            return self._fail(claim, str(exc), final=True)
        except Exception as exc:
            self.log.exception("activity request %s failed", claim.event_id)
            return self._fail(claim, f"{type(exc).__name__}: {exc}", final=False)

    def _fail(self, claim: Claim, reason: str, *, final: bool) -> Status | None:
        try:
            with self.host.db.write() as session:
                row = self._owned(session, claim)
                row.lease_until = None
                return self._retry_or_fail(session, row, reason, final=final)
        except (LostClaim, Conflict):
            return None

    def _retry_or_fail(
        self, session: Session, row: ActivityEvent, reason: str, *, final: bool
    ) -> Status:
        if final or row.attempts >= self.host.max_attempts:
            self.host.transition(session, row, Status.ERROR, level="error",
                                 message=f"failed after {row.attempts} attempt(s): {reason}")
            return Status.ERROR
        self.host.transition(session, row, Status.WAITING, level="warning",
                             message=f"attempt {row.attempts} failed: {reason}; will retry")
        return Status.WAITING

    # -- sweeping ------------------------------------------------------------------------------
    def sweep(self, now: datetime | None = None) -> int:
        """Recover expired leases and abandoned ``NEW`` requests; returns how many were moved."""
        now = now or utcnow()
        with self.host.db.read() as session:
            expired = list(session.scalars(_requests().where(
                ActivityEvent.status == Status.RUNNING.value, ActivityEvent.lease_until < now)))
            grace = now - timedelta(seconds=self.host.new_grace_seconds)
            abandoned = list(session.scalars(_requests().where(
                ActivityEvent.status == Status.NEW.value, ActivityEvent.created < grace)))
        moved = sum(self._recover(event_id, now) for event_id in expired)
        for event_id in abandoned:
            with contextlib.suppress(Conflict):
                self.host.route_request(event_id)
                moved += 1
        return moved

    def _recover(self, event_id: str, now: datetime) -> bool:
        try:
            with self.host.db.write() as session:
                row = session.get(ActivityEvent, event_id)
                if row is None or row.status != Status.RUNNING.value or (
                    row.lease_until is None or row.lease_until >= now
                ):
                    return False
                row.lease_until = None
                self._retry_or_fail(session, row, "the worker's lease expired (crashed?)",
                                    final=False)
                return True
        except Conflict:
            return False

    # -- one round and the loop ----------------------------------------------------------------
    def run_once(self, now: datetime | None = None) -> int:
        """Sweep if due, then claim and execute until nothing is claimable; returns the count."""
        if time.monotonic() - self._last_sweep >= self.sweep_interval:
            self._last_sweep = time.monotonic()
            self.sweep(now)
        done = 0
        while done < self.batch and (claim := self.claim(now)) is not None:
            self.execute(claim)
            done += 1
        return done

    async def start(self) -> None:
        """Run the worker loop on the current event loop."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self.host.add_listener(self.wake)
        self._task = asyncio.create_task(self._run(), name="astro-ops-activity-worker")

    async def stop(self) -> None:
        """Finish the current round and stop."""
        self.host.remove_listener(self.wake)
        self._stopping = True
        if self._wake is not None and self._task is not None:
            self._wake.set()
            await self._task
        self._task = None

    def wake(self) -> None:
        """Thread-safe: poll now (called after every activity commit in this process)."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(event.set)

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:
                self.log.exception("activity worker round failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)


__all__ = ["Claim", "RequestWorker", "WorkerHost"]
