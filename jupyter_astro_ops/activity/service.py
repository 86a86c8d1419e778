"""The activity service: record events, move them through the state machine, query them.

Every domain calls ``record``/``transition``/``note`` *inside its own write transaction*, so a
domain change and its event commit together or not at all. Each write appends an
``ActivityChange`` row whose ``seq`` becomes the event's feed cursor, and the event's
``version`` column makes concurrent writers fail (``Conflict``) instead of losing updates.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Select, event, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement
from traitlets import Bool, Float, Instance, Int
from traitlets.config import LoggingConfigurable

from ..core.db import Database
from ..core.errors import Conflict, Forbidden, NotFound, ValidationError
from ..core.identity import User
from ..core.timeutil import isoformat, utcnow
from .convert import to_out
from .feed import FeedHub
from .models import ActivityChange, ActivityEvent, ProjectMember
from .pagecache import Page, PageCache
from .projects import ProjectsMixin
from .requests import RequestsMixin
from .schemas import EventFilter, EventOut
from .states import Action, Status, check_transition
from .worker import RequestWorker

BASE_OBJECT_TYPES = frozenset({"AUTHORITY", "USER", "PROJECT", "SLICE", "RESOURCE"})
Listener = Callable[[], None]


class ActivityService(ProjectsMixin, RequestsMixin, LoggingConfigurable):
    """Event log + state machine shared by every domain (projects and requests mixed in)."""

    db = Instance(Database)
    lease_seconds = Float(
        60.0, config=True,
        help="Seconds a worker may hold a claimed event before another worker may take it over.",
    )
    max_attempts = Int(
        3, config=True,
        help="How many times a request is tried before it is failed with ERROR and a log line.",
    )
    new_grace_seconds = Float(
        10.0, config=True,
        help="Seconds after which an event still in NEW is considered abandoned and routed again.",
    )
    poll_interval = Float(
        1.0, config=True,
        help="Seconds between database polls of the live feed and of the request worker "
             "(both also wake at once after a write in this process).",
    )
    run_worker = Bool(
        True, config=True,
        help="Run the request worker in this process (start() always runs the live feed).",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._object_types = set(BASE_OBJECT_TYPES)
        self._listeners: list[Listener] = []
        self.feed: FeedHub | None = None
        self.worker: RequestWorker | None = None
        self._pages: PageCache[list[EventOut]] = PageCache()

    # -- lifecycle (background work runs only in the Jupyter server process) -------------------
    async def start(self) -> None:
        """Start the live feed and (if ``run_worker``) the request worker on this loop."""
        await self.ensure_feed()
        if self.run_worker and self.worker is None:
            self.worker = RequestWorker(self, poll_interval=self.poll_interval)
            await self.worker.start()

    async def ensure_feed(self) -> FeedHub:
        """The process's ``FeedHub``, started on the running loop at first use."""
        if self.feed is None:
            hub = FeedHub(self, poll_interval=self.poll_interval)
            await hub.start()
            self.feed = hub
        return self.feed

    async def stop(self) -> None:
        """Stop the worker and the feed (each finishes its current round)."""
        worker, feed, self.worker, self.feed = self.worker, self.feed, None, None
        if worker is not None:
            await worker.stop()
        if feed is not None:
            await feed.stop()

    # -- registration and notification -------------------------------------------------------
    def register_object_type(self, name: str) -> None:
        """Let a domain add its object type (``STAGING_JOB``, ``RESERVATION``, ...)."""
        self._object_types.add(name)

    @property
    def object_types(self) -> frozenset[str]:
        return frozenset(self._object_types)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener()`` after each commit that wrote events through this service.

        Runs in the committing thread; listeners must be cheap and thread-safe (the live feed
        just schedules a poll on its event loop).
        """
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Undo ``add_listener`` (no error if it was not registered)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def notify(self) -> None:
        """Tell in-process listeners (the live feed) that new changes were committed."""
        self._pages.bump()
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a broken listener must not break the write path
                self.log.exception("activity listener failed")

    # -- writing (inside the caller's transaction) ---------------------------------------------
    def record(
        self, session: Session, user: User | str, *, action: Action | str, object_type: str,
        object_id: str | None = None, data: dict[str, Any] | None = None,
        status: Status | str = Status.NEW, project_id: int | None = None,
        message: str | None = None, event_id: str | None = None,
    ) -> ActivityEvent:
        """Insert a new event (and its first change) in ``session``'s transaction."""
        if object_type not in self._object_types:
            raise ValidationError(f"unknown object type {object_type!r}")
        now = utcnow()
        new_id = event_id or uuid.uuid4().hex
        row = ActivityEvent(
            id=new_id, seq=_placeholder_seq(new_id), action=Action(action).value,
            object_type=object_type, object_id=object_id,
            username=user.username if isinstance(user, User) else user,
            project_id=project_id, status=Status(status).value, previous_status=None,
            data=dict(data or {}), log=[], attempts=0, created=now, updated=now,
        )
        row.log = [_entry(message or f"{row.action} {object_type} created as {row.status}")]
        session.add(row)
        session.flush()
        self._bump(session, row)
        return row

    def transition(
        self, session: Session, row: ActivityEvent, status: Status | str, *,
        message: str, level: str = "info", manager: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> ActivityEvent:
        """Move ``row`` along a legal edge of the state machine, logging why."""
        target = check_transition(row.status, status)
        row.previous_status = row.status
        row.status = target.value
        if manager is not None:
            row.manager = manager
        return self.note(session, row, message, level=level, data=data)

    def note(
        self, session: Session, row: ActivityEvent, message: str | None, *,
        level: str = "info", data: dict[str, Any] | None = None,
    ) -> ActivityEvent:
        """Append a log line and/or merge ``data`` without changing the status (progress)."""
        if data:
            row.data = {**(row.data or {}), **data}
        if message:
            row.log = [*(row.log or []), _entry(message, level)]
        row.updated = utcnow()
        try:
            session.flush()
        except StaleDataError as exc:
            raise Conflict("the event was changed by someone else; reload and retry") from exc
        self._bump(session, row)
        return row

    def _bump(self, session: Session, row: ActivityEvent) -> None:
        # After this transaction commits, wake the in-process live feed (see _after_commit).
        session.info.setdefault(_NOTIFY_KEY, set()).add(self)
        change = ActivityChange(event_id=row.id, status=row.status, at=row.updated)
        session.add(change)
        session.flush()
        row.seq = change.seq
        try:
            session.flush()
        except StaleDataError as exc:
            raise Conflict("the event was changed by someone else; reload and retry") from exc

    # -- reading -------------------------------------------------------------------------------
    def visible_clause(self, session: Session, user: User) -> ColumnElement[bool] | None:
        """SQL condition for events ``user`` may see (``None``: all, for admins)."""
        if user.is_admin:
            return None
        led = select(ProjectMember.project_id).where(
            ProjectMember.username == user.username, ProjectMember.role == "pi"
        )
        return or_(ActivityEvent.username == user.username, ActivityEvent.project_id.in_(led))

    def query(self, session: Session, user: User, flt: EventFilter) -> list[ActivityEvent]:
        """Events visible to ``user`` matching ``flt``, oldest change first from ``since``."""
        return list(session.scalars(self._filtered(select(ActivityEvent), session, user, flt)))

    def read_events(self, session: Session, user: User, flt: EventFilter) -> list[EventOut]:
        """Like ``query``, as wire models, reading plain columns (no ORM identity map: ~2x
        faster, which matters for ``GET activity`` and the feed's replay)."""
        stmt = self._filtered(select(*ActivityEvent.__table__.c), session, user, flt)
        return [to_out(r) for r in session.execute(stmt)]  # type: ignore[arg-type]

    def _filtered(self, stmt: Select[Any], session: Session, user: User,
                  flt: EventFilter) -> Select[Any]:
        stmt = stmt.where(ActivityEvent.seq > flt.since)
        visible = self.visible_clause(session, user)
        if visible is not None:
            stmt = stmt.where(visible)
        for column, values in (
            (ActivityEvent.status, flt.status), (ActivityEvent.action, flt.action),
            (ActivityEvent.object_type, flt.object_type),
        ):
            if values:
                stmt = stmt.where(column.in_([getattr(v, "value", v) for v in values]))
        equal: tuple[tuple[Any, Any], ...] = (
            (ActivityEvent.object_id, flt.object_id), (ActivityEvent.username, flt.user),
            (ActivityEvent.project_id, flt.project_id),
        )
        for column, value in equal:
            if value is not None:
                stmt = stmt.where(column == value)
        return stmt.order_by(ActivityEvent.seq).limit(flt.limit)

    def check_filter(self, user: User, flt: EventFilter) -> None:
        """A non-admin may not ask for another user's events by name (403, not an empty list)."""
        if flt.user is not None and flt.user != user.username and not user.is_admin:
            raise Forbidden(f"{user.username} may not list the events of {flt.user}")

    def list_events(self, user: User, flt: EventFilter) -> list[EventOut]:
        """``GET activity``."""
        self.check_filter(user, flt)
        version = self._change_version()
        key = (user.username, user.is_admin, flt.model_dump_json())
        if version is not None and (page := self._pages.get(key, version)) is not None:
            return page
        with self.db.read() as session:
            page = Page(self.read_events(session, user, flt))
        if version is not None:
            self._pages.put(key, version, page)
        return page

    def _change_version(self) -> tuple[int, int] | None:
        """What this process has seen of the log (see ``pagecache``); None without a feed."""
        feed = self.feed
        if feed is None or not feed.running:
            return None
        return (feed.cursor, self._pages.local)

    def get_event(self, user: User, event_id: str) -> EventOut:
        """``GET activity/<id>``; invisible events are reported as missing."""
        with self.db.read() as session:
            return to_out(self.load_visible(session, user, event_id))

    def load_visible(self, session: Session, user: User, event_id: str) -> ActivityEvent:
        stmt = select(ActivityEvent).where(ActivityEvent.id == event_id)
        visible = self.visible_clause(session, user)
        if visible is not None:
            stmt = stmt.where(visible)
        row = session.scalars(stmt).first()
        if row is None:
            raise NotFound(f"no activity event {event_id}")
        return row

    def latest_seq(self) -> int:
        """The newest committed change sequence number (0 when empty)."""
        with self.db.read() as session:
            return int(session.scalar(select(func.max(ActivityChange.seq))) or 0)

    def events_for_objects(
        self, session: Session, object_type: str, object_ids: Iterable[str]
    ) -> dict[str, ActivityEvent]:
        """The newest event of each given object (domains use it to find their event)."""
        rows = session.scalars(
            select(ActivityEvent)
            .where(ActivityEvent.object_type == object_type,
                   ActivityEvent.object_id.in_(list(object_ids)))
            .order_by(ActivityEvent.created)
        )
        return {row.object_id or "": row for row in rows}


__all__ = ["ActivityService", "to_out"]
_NOTIFY_KEY = "astro_activity_notify"


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for service in session.info.pop(_NOTIFY_KEY, ()):
        service.notify()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_NOTIFY_KEY, None)


def _placeholder_seq(event_id: str) -> int:
    """A distinct negative ``seq`` until ``_bump`` sets the real one in the same transaction.

    A shared placeholder (0) would make every concurrent ``record`` on PostgreSQL wait on the
    unique index for the first writer's commit (the superseded row version still holds 0).
    """
    return -1 - (uuid.uuid5(uuid.NAMESPACE_OID, event_id).int >> 66)


def _entry(message: str, level: str = "info") -> dict[str, Any]:
    return {"time": isoformat(utcnow()), "level": level, "message": message}
