"""The live feed: one database poll loop per process, fanned out to subscribers.

``FeedHub`` reads the change journal (``activity_changes``) past its cursor about once a second,
or at once when a write in this process wakes it, and hands each changed event to the
subscribers allowed to see it (same rules as ``ActivityService.visible_clause``) whose filters
match. It has no tornado dependency: the Jupyter server (websocket) and the Panel dashboard
process (another process on the same database) both use it.

Replay: ``subscribe(user, flt, since=N)`` registers at the hub's cursor ``C`` and first yields
every visible event changed in ``(N, C]`` from the database, then the live ones (``> C``), so
there is no gap and no duplicate.

Commit-order gaps (PostgreSQL): sequence numbers are taken before commit, so ``seq`` 7 may be
visible while 6 is still in flight. The hub holds its cursor below a missing number until the
writers that could still commit it have ended, or for at most ``gap_timeout`` seconds (see
``gaps.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session
from traitlets import Float
from traitlets.config import LoggingConfigurable

from ..core.db import Database
from ..core.driver import DriverStatement
from ..core.identity import User
from ..core.lifecycle import BackgroundLoop
from .convert import to_out
from .gaps import GapTracker, in_progress
from .models import ActivityChange, ActivityEvent, ProjectMember
from .schemas import EventFilter, EventOut

PAGE = 500
MAX_QUEUE = 10_000
# the journal past the cursor, a page at a time
NEWER = DriverStatement(select(ActivityChange.seq).where(
    ActivityChange.seq > bindparam("cursor")).order_by(ActivityChange.seq).limit(PAGE))


class EventSource(Protocol):
    """What the hub needs from the event log."""

    db: Database

    def add_listener(self, listener: Callable[[frozenset[str]], None],
                     object_types: Iterable[str] | None = ...) -> None: ...
    def remove_listener(self, listener: Callable[[frozenset[str]], None]) -> None: ...
    def check_filter(self, user: User, flt: EventFilter) -> None: ...
    def read_events(self, session: Session, user: User, flt: EventFilter) -> list[EventOut]: ...


def event_matches(flt: EventFilter, ev: EventOut) -> bool:
    """Does ``ev`` pass the filters of ``flt`` (``since`` and ``limit`` aside)?"""
    checks = (
        (flt.status, ev.status), (flt.action, ev.action), (flt.object_type, ev.object.type),
    )
    if any(allowed and value not in allowed for allowed, value in checks):
        return False
    return not (
        (flt.object_id is not None and ev.object.id != flt.object_id)
        or (flt.user is not None and ev.user != flt.user)
        or (flt.project_id is not None and ev.project_id != flt.project_id)
    )


def may_see(user: User, ev: EventOut, pis: Mapping[int, set[str]]) -> bool:
    """Python twin of ``visible_clause``: own events, events of led projects; admins all."""
    if user.is_admin or ev.user == user.username:
        return True
    return ev.project_id is not None and user.username in pis.get(ev.project_id, set())


class Subscription:
    """An async iterator of ``EventOut``: the replay from ``since``, then live events."""

    def __init__(self, hub: FeedHub, user: User, flt: EventFilter, since: int | None,
                 cursor: int) -> None:
        self.hub, self.user, self.flt = hub, user, flt
        self._queue: asyncio.Queue[EventOut | None] = asyncio.Queue()
        self._backlog: deque[EventOut] = deque()
        self._replay_from = since if since is not None and since < cursor else None
        self._replay_to = cursor
        self._floor = max(cursor, since or 0)  # live events at or below this were replayed
        self.last_seq = since or cursor
        self.closed = False
        self.overflowed = False

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> EventOut:
        while not self._backlog and self._replay_from is not None and not self.closed:
            await self._load_replay_page()
        if self._backlog:
            return self._take(self._backlog.popleft())
        if self.closed and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is None:
            raise StopAsyncIteration
        return self._take(item)

    def _take(self, ev: EventOut) -> EventOut:
        self.last_seq = max(self.last_seq, ev.seq)
        return ev

    async def _load_replay_page(self) -> None:
        start = self._replay_from or 0
        flt = self.flt.model_copy(update={"since": start, "limit": PAGE})
        page = await asyncio.to_thread(self.hub.read_events, self.user, flt)
        kept = [ev for ev in page if ev.seq <= self._replay_to]
        self._backlog.extend(kept)
        done = len(page) < PAGE or len(kept) < len(page)
        self._replay_from = None if done else page[-1].seq

    def offer(self, ev: EventOut) -> None:
        """Queue a live event (called on the hub's loop)."""
        if self.closed or ev.seq <= self._floor:
            return
        if self._queue.qsize() >= MAX_QUEUE:  # a stuck consumer: let it reconnect with a cursor
            self.overflowed = True
            self.close()
            return
        self._queue.put_nowait(ev)

    def close(self) -> None:
        """Stop the subscription; the iterator ends after what is already queued."""
        if not self.closed:
            self.closed = True
            self.hub.unsubscribe(self)
            self._queue.put_nowait(None)


class FeedHub(LoggingConfigurable):
    """One poll loop per process over the change journal, fanned out to subscriptions."""

    poll_interval = Float(1.0, config=True, help=(
        "Seconds between two database polls of the live feed (it also polls at once after a "
        "write in this process)."))
    gap_timeout = Float(3.0, config=True, help=(
        "Seconds the feed waits at most for a missing change number (a commit-order gap on "
        "PostgreSQL) before it steps over it."))

    def __init__(self, source: EventSource, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.cursor = 0
        self.polls = 0
        self.gaps = GapTracker(self.gap_timeout)
        self._subs: set[Subscription] = set()
        self._start_lock: asyncio.Lock | None = None
        self.loop = BackgroundLoop("astro-ops-activity-feed", self._round,
                                   interval=self.poll_interval, log=self.log)

    @property
    def running(self) -> bool:
        return self.loop.running

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Begin at the newest committed change and poll on the running loop (idempotent)."""
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self.running:
                return
            self.cursor = await asyncio.to_thread(self._latest_seq)
            self.source.add_listener(self.wake)
            await self.loop.start()

    async def stop(self) -> None:
        """Stop polling and end every subscription."""
        self.source.remove_listener(self.wake)
        await self.loop.stop()
        for sub in list(self._subs):
            sub.close()

    def wake(self, _written: frozenset[str] = frozenset()) -> None:
        """Thread-safe: poll now (a write in this process committed)."""
        self.loop.wake()

    # -- subscribers ---------------------------------------------------------------------------
    def subscribe(self, user: User, flt: EventFilter, since: int | None = None) -> Subscription:
        """Events visible to ``user`` matching ``flt``: changed after ``since``, then live.

        Call on the hub's event loop. Raises ``Forbidden`` for a non-admin filtering on
        another user.
        """
        if not self.running:
            raise RuntimeError("FeedHub.start() must run before subscribe()")
        self.source.check_filter(user, flt)
        sub = Subscription(self, user, flt, since, self.cursor)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def read_events(self, user: User, flt: EventFilter) -> list[EventOut]:
        """Blocking: visible events after ``flt.since`` (the replay query)."""
        with self.source.db.read() as session:
            return self.source.read_events(session, user, flt)

    # -- polling -------------------------------------------------------------------------------
    async def _round(self) -> None:
        # Without subscribers only the cursor moves (nobody to hand events to): one query, not
        # three, after every local commit. A subscription made meanwhile registered at the
        # old cursor and waits for the live events above it, so that round is read in full.
        wanted = bool(self._subs)
        events, pis, cursor = await asyncio.to_thread(self.poll, wanted)
        if not wanted and self._subs:
            events, pis, cursor = await asyncio.to_thread(self.poll)
        self._fan_out(events, pis)
        self.cursor = cursor

    def poll(self, events: bool = True) -> tuple[list[EventOut], dict[int, set[str]], int]:
        """Blocking: events changed in ``(cursor, safe]``, their projects' PIs, and ``safe``
        (``events=False``: only ``safe``).

        The journal is read outside a session (``NEWER.probe``): this runs after every commit
        of the process, and a session's read cost ten times the query, on the thread that
        competes with the request that just committed. Events whose change is visible were
        committed with it, so reading them afterwards in a session sees them all."""
        self.polls += 1
        db = self.source.db
        running = self._running() if self.gaps.pending else None  # writers before the read
        seqs = [seq for (seq,) in NEWER.probe(db, {"cursor": self.cursor})]
        upto = self.gaps.safe_upto(self.cursor, seqs, time.monotonic(), running)
        if self.gaps.unwatched:  # new gaps: who was writing just after that read
            self.gaps.watch(self._running())
        if upto <= self.cursor:
            return [], {}, self.cursor
        if not events:
            return [], {}, upto
        with db.read() as session:
            rows = session.execute(select(*ActivityEvent.__table__.c).where(
                ActivityEvent.seq > self.cursor, ActivityEvent.seq <= upto,
            ).order_by(ActivityEvent.seq))
            changed = [to_out(r) for r in rows]  # type: ignore[arg-type]
            return changed, self._pis(session, changed), upto

    def _running(self) -> frozenset[str] | None:
        with self.source.db.read() as session:
            return in_progress(session)

    def _pis(self, session: Session, events: list[EventOut]) -> dict[int, set[str]]:
        ids = {ev.project_id for ev in events if ev.project_id is not None}
        pis: dict[int, set[str]] = {}
        if ids:
            for pid, name in session.execute(select(
                ProjectMember.project_id, ProjectMember.username,
            ).where(ProjectMember.project_id.in_(ids), ProjectMember.role == "pi")):
                pis.setdefault(pid, set()).add(name)
        return pis

    def _latest_seq(self) -> int:
        with self.source.db.read() as session:
            return int(session.scalar(select(func.max(ActivityChange.seq))) or 0)

    def _fan_out(self, events: list[EventOut], pis: dict[int, set[str]]) -> None:
        for sub in list(self._subs):
            for ev in events:
                if may_see(sub.user, ev, pis) and event_matches(sub.flt, ev):
                    sub.offer(ev)


__all__ = ["EventSource", "FeedHub", "Subscription", "event_matches", "may_see"]
