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

A ``BackgroundLoop`` runs a round about once a second (``poll_interval``) and at once when
the event log commits a ``PROJECT`` event in this process; all database work runs in a thread.
Settings are ``c.RequestWorker.*``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session
from traitlets import Bool, Float, Int
from traitlets.config import LoggingConfigurable

from ..core.db import Database
from ..core.errors import AstroOpsError, Conflict
from ..core.identity import User
from ..core.lifecycle import BackgroundLoop
from ..core.timeutil import utcnow
from .models import ActivityEvent
from .schemas import EventOut
from .states import Action, Status

CLAIMABLE = (Status.APPROVED.value, Status.WAITING.value)


class WorkerEvents(Protocol):
    """What the worker needs from the event log."""

    def transition(self, session: Session, row: ActivityEvent, status: Status | str, *,
                   message: str, level: str = ..., manager: str | None = ...,
                   data: dict[str, Any] | None = ...) -> ActivityEvent: ...
    def add_listener(self, listener: Callable[[frozenset[str]], None],
                     object_types: Iterable[str] | None = ...) -> None: ...
    def remove_listener(self, listener: Callable[[frozenset[str]], None]) -> None: ...


class WorkerRequests(Protocol):
    """What the worker needs from the requests part."""

    def route_request(self, event_id: str, user: User | None = None) -> EventOut: ...
    def carry_out(self, session: Session, row: ActivityEvent) -> str: ...


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


class RequestWorker(LoggingConfigurable):
    """Claims, executes, retries and sweeps project requests (see the module docstring)."""

    enabled = Bool(True, config=True, help=(
        "Run the request worker in this process when background work runs here."))
    lease_seconds = Float(60.0, config=True, help=(
        "Seconds a worker may hold a claimed event before another worker may take it over."))
    max_attempts = Int(3, config=True, help=(
        "How many times a request is tried before it is failed with ERROR and a log line."))
    new_grace_seconds = Float(10.0, config=True, help=(
        "Seconds after which an event still in NEW is considered abandoned and routed again."))
    poll_interval = Float(1.0, config=True, help=(
        "Seconds between two looks for work (it also wakes at once after a local request)."))
    sweep_interval = Float(5.0, config=True, help=(
        "Seconds between two sweeps for expired leases and abandoned NEW requests."))
    batch = Int(50, config=True, help="Requests carried out per round at most.")

    def __init__(self, db: Database, events: WorkerEvents, requests: WorkerRequests,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db = db
        self.events = events
        self.requests = requests
        self.name = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._last_sweep = float("-inf")
        self.loop = BackgroundLoop("astro-ops-activity-worker", self._round,
                                   interval=self.poll_interval, log=self.log)

    # -- claiming ------------------------------------------------------------------------------
    def claim(self, now: datetime | None = None) -> Claim | None:
        """Take the oldest claimable request (``None`` if there is none)."""
        now = now or utcnow()
        with self.db.read() as session:
            stmt = _requests().where(ActivityEvent.status.in_(CLAIMABLE))
            ids = list(session.scalars(stmt.order_by(ActivityEvent.seq).limit(self.batch)))
        for event_id in ids:
            claim = self._try_claim(event_id, now)
            if claim is not None:
                return claim
        return None

    def _try_claim(self, event_id: str, now: datetime) -> Claim | None:
        try:
            with self.db.write() as session:
                row = session.get(ActivityEvent, event_id)
                if row is None or row.status not in CLAIMABLE:
                    return None
                row.attempts = (row.attempts or 0) + 1
                row.lease_until = now + timedelta(seconds=self.lease_seconds)
                self.events.transition(session, row, Status.RUNNING,
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
            with self.db.write() as session:
                row = self._owned(session, claim)
                try:
                    message = self.requests.carry_out(session, row)
                except AstroOpsError as exc:
                    raise Refused(exc.message) from exc
                row.lease_until = None
                self.events.transition(session, row, Status.SUCCESS, message=message)
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
            with self.db.write() as session:
                row = self._owned(session, claim)
                row.lease_until = None
                return self._retry_or_fail(session, row, reason, final=final)
        except (LostClaim, Conflict):
            return None

    def _retry_or_fail(
        self, session: Session, row: ActivityEvent, reason: str, *, final: bool
    ) -> Status:
        if final or row.attempts >= self.max_attempts:
            self.events.transition(session, row, Status.ERROR, level="error",
                                 message=f"failed after {row.attempts} attempt(s): {reason}")
            return Status.ERROR
        self.events.transition(session, row, Status.WAITING, level="warning",
                             message=f"attempt {row.attempts} failed: {reason}; will retry")
        return Status.WAITING

    # -- sweeping ------------------------------------------------------------------------------
    def sweep(self, now: datetime | None = None) -> int:
        """Recover expired leases and abandoned ``NEW`` requests; returns how many were moved."""
        now = now or utcnow()
        with self.db.read() as session:
            expired = list(session.scalars(_requests().where(
                ActivityEvent.status == Status.RUNNING.value, ActivityEvent.lease_until < now)))
            grace = now - timedelta(seconds=self.new_grace_seconds)
            abandoned = list(session.scalars(_requests().where(
                ActivityEvent.status == Status.NEW.value, ActivityEvent.created < grace)))
        moved = sum(self._recover(event_id, now) for event_id in expired)
        for event_id in abandoned:
            with contextlib.suppress(Conflict):
                self.requests.route_request(event_id)
                moved += 1
        return moved

    def _recover(self, event_id: str, now: datetime) -> bool:
        try:
            with self.db.write() as session:
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
        self.events.add_listener(self.wake, {"PROJECT"})
        await self.loop.start()

    async def stop(self) -> None:
        """Finish the current round and stop."""
        self.events.remove_listener(self.wake)
        await self.loop.stop()

    def wake(self, _written: frozenset[str] = frozenset()) -> None:
        """Thread-safe: look for work now (after a local commit of a request)."""
        self.loop.wake()

    async def _round(self) -> None:
        await asyncio.to_thread(self.run_once)


__all__ = ["Claim", "RequestWorker", "WorkerEvents", "WorkerRequests"]
