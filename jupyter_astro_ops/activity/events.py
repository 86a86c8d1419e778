"""The event log: record events, move them through the state machine, read them back.

Every domain calls ``record``/``transition``/``note`` *inside its own write transaction*, so a
domain change and its event commit together or not at all. Each write appends an
``ActivityChange`` row whose ``seq`` becomes the event's feed cursor, and the event's
``version`` column makes concurrent writers fail (``Conflict``) instead of losing updates.

After a transaction that wrote events commits, the log calls its listeners (the live feed, the
request worker, the staging runner) with the object types written, so they wake at once. The
hook is registered on this log's own ``Database`` sessions, never globally. A request handler
may hold those calls until its response is sent (``wakeups_after``), so the feed's poll does
not run beside the request that caused it. On PostgreSQL the
same transaction also sends ``NOTIFY`` with those types, so ``remote.RemoteChanges`` wakes the
listeners of the other processes sharing the database (``origin`` names this process).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement

from ..core.db import Database
from ..core.errors import Conflict, Forbidden, NotFound, ValidationError
from ..core.identity import User
from ..core.timeutil import isoformat, utcnow
from . import journal as j
from .convert import to_out
from .models import ActivityChange, ActivityEvent, ProjectMember
from .remote import new_origin, send_notify
from .schemas import EventFilter, EventOut
from .states import Action, Status, check_transition

BASE_OBJECT_TYPES = frozenset({"AUTHORITY", "USER", "PROJECT", "SLICE", "RESOURCE"})
Listener = Callable[[frozenset[str]], None]


class EventLog:
    """The one activity log every domain writes to (after MySlice, without its holes)."""

    def __init__(self, db: Database, log: logging.Logger | None = None) -> None:
        self.db = db
        self.log = log or logging.getLogger(__name__)
        self._object_types = set(BASE_OBJECT_TYPES)
        # (listener, object types or None for all, whether this process's commits wake it)
        self._listeners: list[tuple[Listener, frozenset[str] | None, bool]] = []
        self._lock = threading.Lock()
        self._info_key = f"astro_activity_written_{id(self):x}"
        self._seqs_key = f"astro_activity_seqs_{id(self):x}"
        self.origin = new_origin()
        self.tracking = False  # keep the seqs of local commits (for the SQLite watcher)
        # the object types whose listener calls ``wakeups_after`` holds in this context
        self._held: ContextVar[set[str] | None] = ContextVar(f"{self._info_key}_held",
                                                             default=None)
        self._local_seqs: set[int] = set()
        if db.dialect == "postgresql":
            db.on_session_event("before_commit", self._before_commit)
        db.on_session_event("after_commit", self._after_commit)
        db.on_session_event("after_rollback", self._after_rollback)

    # -- registration and notification -------------------------------------------------------
    def register_object_type(self, name: str) -> None:
        """Let a domain add its object type (``STAGING_JOB``, ``RESERVATION``, ...)."""
        self._object_types.add(name)

    @property
    def object_types(self) -> frozenset[str]:
        return frozenset(self._object_types)

    def add_listener(self, listener: Listener, object_types: Iterable[str] | None = None,
                     *, local: bool = True) -> None:
        """Call ``listener(types)`` after each commit that wrote events of ``object_types``
        (any type when ``None``), with the set of types written; with ``local=False`` only
        after other processes' commits (``remote.RemoteChanges``).

        Runs in the committing thread; listeners must be cheap and thread-safe (a background
        loop's ``wake`` is).
        """
        types = None if object_types is None else frozenset(object_types)
        with self._lock:
            self._listeners.append((listener, types, local))

    def remove_listener(self, listener: Listener) -> None:
        """Undo ``add_listener`` (no error if it was not registered)."""
        with self._lock:
            self._listeners = [entry for entry in self._listeners if entry[0] != listener]

    def notify(self, written: frozenset[str], *, remote: bool = False) -> None:
        """Tell in-process listeners that events of the types ``written`` were committed (by
        another process if ``remote``)."""
        with self._lock:
            listeners = list(self._listeners)
        for listener, types, local in listeners:
            if (types is not None and not types & written) or not (local or remote):
                continue
            try:
                listener(written)
            except Exception:  # a broken listener must not break the write path
                self.log.exception("activity listener failed")

    @contextmanager
    def wakeups_after(self) -> Iterator[None]:
        """Call the listeners of the commits made inside the block when it ends, once, instead
        of inside each commit.

        Covers threads started from the block with ``asyncio.to_thread`` (they run in a copy
        of its context). A handler wraps its service call and its reply in it: the live feed
        then polls after the response is written, not beside the request, and still before
        the event loop handles anything else (so a client reading its own write finds the
        feed and the page cache told). The listeners run even if the block fails.
        """
        held: set[str] = set()
        token = self._held.set(held)
        try:
            yield
        finally:
            self._held.reset(token)
            if held:
                self.notify(frozenset(held))

    def _before_commit(self, session: Session) -> None:
        written = session.info.get(self._info_key)
        if written:
            send_notify(session, self.origin, written)

    def _after_commit(self, session: Session) -> None:
        written = session.info.pop(self._info_key, None)
        seqs = session.info.pop(self._seqs_key, None)
        if seqs and self.tracking:
            with self._lock:
                if len(self._local_seqs) > 100_000:  # nobody takes them: do not grow forever
                    self._local_seqs.clear()
                self._local_seqs.update(seqs)
        if written:
            held = self._held.get()
            if held is not None:
                held.update(written)
            else:
                self.notify(frozenset(written))

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(self._info_key, None)
        session.info.pop(self._seqs_key, None)

    def take_local(self, seqs: Iterable[int]) -> set[int]:
        """Which of the journal numbers ``seqs`` this process committed (each is answered
        once); ``remote.RemoteChanges`` on SQLite skips them, their listeners woke already."""
        with self._lock:
            mine = self._local_seqs.intersection(seqs)
            self._local_seqs.difference_update(mine)
            return mine

    # -- writing (inside the caller's transaction) ---------------------------------------------
    def record(
        self, session: Session, user: User | str, *, action: Action | str, object_type: str,
        object_id: str | None = None, data: dict[str, Any] | None = None,
        status: Status | str = Status.NEW, project_id: int | None = None,
        message: str | None = None, event_id: str | None = None,
    ) -> ActivityEvent:
        """Insert a new event (and its first change) in ``session``'s transaction."""
        row = ActivityEvent(**self._new_event(user, action, object_type, object_id, data,
                                              status, project_id, message, event_id))
        session.add(row)
        session.flush()
        self._bump(session, row)
        return row

    def append(
        self, session: Session, user: User | str, *, action: Action | str, object_type: str,
        object_id: str | None = None, data: dict[str, Any] | None = None,
        status: Status | str = Status.NEW, project_id: int | None = None,
        message: str | None = None, event_id: str | None = None,
    ) -> str:
        """``record`` for a writer that never touches the event again (a booking): the same
        rows, journal entry and commit-time wake-ups, in two statements compiled once and run
        on the driver instead of the ORM's unit of work; returns the event's id.

        SQLite serializes writers (``BEGIN IMMEDIATE``), so the next journal number is known
        before the event is written: the event goes in with it, at the version ``record``
        leaves (2), and its journal row copies it. On PostgreSQL the event is written first, so
        that its transaction has an id before the number is drawn (``gaps.py`` relies on it),
        then one statement adds the journal row and sets the number on the event.
        """
        values = self._new_event(user, action, object_type, object_id, data, status,
                                 project_id, message, event_id)
        session.flush()  # anything the ORM holds goes first, as it would in record()
        seq: Any
        if self.db.dialect == "sqlite":
            j.APPEND_NUMBERED.execute(session, {**values, "version": 2})
            seq = j.JOURNAL_COPY.execute(session, {"b_id": values["id"]})
        else:
            j.APPEND_EVENT.execute(session, {**values, "version": 1})
            seq = j.JOURNAL_AND_SEQ.rows(session, {"b_id": values["id"],
                                                  "b_status": values["status"],
                                                  "b_at": values["updated"]})[0][0]
        self._mark(session, object_type, int(seq))
        return str(values["id"])

    def _new_event(
        self, user: User | str, action: Action | str, object_type: str, object_id: str | None,
        data: dict[str, Any] | None, status: Status | str, project_id: int | None,
        message: str | None, event_id: str | None,
    ) -> dict[str, Any]:
        """The column values of a new event (``record`` and ``append`` write the same)."""
        if object_type not in self._object_types:
            raise ValidationError(f"unknown object type {object_type!r}")
        now = utcnow()
        new_id = event_id or uuid.uuid4().hex
        act, state = Action(action).value, Status(status).value
        return {
            "id": new_id, "seq": j.placeholder_seq(new_id), "action": act,
            "object_type": object_type, "object_id": object_id,
            "username": user.username if isinstance(user, User) else user,
            "user_name": user.display_name[:256] if isinstance(user, User) else "",
            "project_id": project_id, "status": state, "previous_status": None,
            "manager": None, "data": dict(data or {}), "attempts": 0, "lease_until": None,
            "log": [_entry(message or f"{act} {object_type} created as {state}")],
            "created": now, "updated": now,
        }

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
        if self.db.dialect != "sqlite":  # SQLite: _bump writes the row's change with its seq
            _flush_event(session)
        self._bump(session, row)
        return row

    def _bump(self, session: Session, row: ActivityEvent) -> None:
        """Add the journal row of ``row``'s current state and set its ``seq``.

        SQLite serializes writers, so the journal row can take the next number in one
        statement on the driver and the event's changes and new ``seq`` go out in one UPDATE
        (``row`` exists: loaded, or flushed by ``record``). PostgreSQL: the event is written
        first, so that its transaction has an id before the number is drawn (``gaps.py``)."""
        if self.db.dialect == "sqlite":
            seq = j.JOURNAL_NEXT.execute(session, {"b_id": row.id, "b_status": row.status,
                                                  "b_at": row.updated})
            assert seq is not None  # the new row's INTEGER PRIMARY KEY
        else:
            change = ActivityChange(event_id=row.id, status=row.status, at=row.updated)
            session.add(change)
            session.flush()
            seq = change.seq
        row.seq = seq
        self._mark(session, row.object_type, seq)
        _flush_event(session)

    def _mark(self, session: Session, object_type: str, seq: int) -> None:
        """Remember, for the commit hooks, what this transaction wrote to the journal."""
        session.info.setdefault(self._info_key, set()).add(object_type)
        session.info.setdefault(self._seqs_key, []).append(seq)

    def display_names(self, usernames: Iterable[str]) -> dict[str, str]:
        """``{username: display name}`` as each person's latest event recorded it from their
        login (a people lookup for views that hold only usernames); a username never seen
        with a name is left out. At most 500 names per call."""
        wanted = sorted(set(usernames))[:500]
        if not wanted:
            return {}
        latest = (select(ActivityEvent.username, func.max(ActivityEvent.seq).label("seq"))
                  .where(ActivityEvent.username.in_(wanted), ActivityEvent.user_name != "")
                  .group_by(ActivityEvent.username).subquery())
        stmt = select(ActivityEvent.username, ActivityEvent.user_name).join(
            latest, ActivityEvent.seq == latest.c.seq)
        with self.db.read() as session:
            return {username: name for username, name in session.execute(stmt)}

    def find(self, session: Session, event_id: str | None) -> ActivityEvent | None:
        """The event row ``event_id`` in ``session`` (for a domain that owns the event)."""
        return session.get(ActivityEvent, event_id) if event_id else None

    # -- reading -------------------------------------------------------------------------------
    def visible_clause(self, user: User) -> ColumnElement[bool] | None:
        """SQL condition for events ``user`` may see (``None``: all, for admins)."""
        if user.is_admin:
            return None
        led = select(ProjectMember.project_id).where(
            ProjectMember.username == user.username, ProjectMember.role == "pi"
        )
        return or_(ActivityEvent.username == user.username, ActivityEvent.project_id.in_(led))

    def read_events(self, session: Session, user: User, flt: EventFilter) -> list[EventOut]:
        """Events visible to ``user`` matching ``flt``, oldest change first from ``since``.

        Reads plain columns (no ORM identity map: ~2x faster, which matters for ``GET
        activity`` and the feed's replay).
        """
        stmt = self._filtered(select(*ActivityEvent.__table__.c), user, flt)
        return [to_out(r) for r in session.execute(stmt)]  # type: ignore[arg-type]

    def _filtered(self, stmt: Select[Any], user: User, flt: EventFilter) -> Select[Any]:
        stmt = stmt.where(ActivityEvent.seq > flt.since)
        visible = self.visible_clause(user)
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

    def get_event(self, user: User, event_id: str) -> EventOut:
        """``GET activity/<id>``; invisible events are reported as missing."""
        with self.db.read() as session:
            return to_out(self.load_visible(session, user, event_id))

    def load_visible(self, session: Session, user: User, event_id: str) -> ActivityEvent:
        """The event row if ``user`` may see it, else ``NotFound``."""
        stmt = select(ActivityEvent).where(ActivityEvent.id == event_id)
        visible = self.visible_clause(user)
        if visible is not None:
            stmt = stmt.where(visible)
        row = session.scalars(stmt).first()
        if row is None:
            raise NotFound(f"no activity event {event_id}")
        return row

    def changed_objects(self, session: Session, object_type: str, after: int,
                        upto: int) -> set[str]:
        """Ids of the objects of ``object_type`` whose events changed in ``(after, upto]`` of
        the journal (a domain's in-memory copy catching up to the live feed's cursor)."""
        stmt = (select(ActivityEvent.object_id)
                .join(ActivityChange, ActivityChange.event_id == ActivityEvent.id)
                .where(ActivityChange.seq > after, ActivityChange.seq <= upto,
                       ActivityEvent.object_type == object_type).distinct())
        return {oid for oid in session.scalars(stmt) if oid is not None}

    def latest_seq(self) -> int:
        """The newest committed change sequence number (0 when empty)."""
        with self.db.read() as session:
            return int(session.scalar(select(func.max(ActivityChange.seq))) or 0)


def _entry(message: str, level: str = "info") -> dict[str, Any]:
    return {"time": isoformat(utcnow()), "level": level, "message": message}


def _flush_event(session: Session) -> None:
    """Flush; an event changed by someone else since it was read is a ``Conflict``."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict("the event was changed by someone else; reload and retry") from exc


__all__ = ["BASE_OBJECT_TYPES", "EventLog", "Listener"]

