"""A small cache of ``GET activity`` pages, valid until the activity log changes.

``GET activity`` is the hottest read (dashboards and scripts poll it), and a page of 100 events
costs a few milliseconds of SQL and model building. Nothing on a page can change without a new
change row in the journal: every event write, and every membership change (which decides who
sees what), goes through ``ActivityService``, which bumps the sequence number. So a page stays
valid while the process has seen no new change:

* writes made in this process bump ``local`` at once (after commit, before the answer leaves);
* writes made by other processes sharing the database move the live feed's cursor, which polls
  about once a second; such a write can therefore take up to that long to show in ``GET activity``
  here, exactly as it takes that long to reach the live feed.

Without a running feed (the feed is what sees other processes) the cache is not used at all.
``EventPages`` is the cached reader (``GET activity``): it is handed the event log and the
process's ``FeedHub``. ``EventPages.cached`` answers a hit without the database and without
waiting for the cache's lock, so the handler serves hits on the event loop (a thread hand-off
cost more than the rest of a hit); a ``Page`` also keeps the ``ETag`` of its JSON.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, Protocol, TypeVar

import pydantic
from sqlalchemy.orm import Session

from ..core.db import Database
from ..core.identity import User
from .schemas import EventFilter, EventOut

V = TypeVar("V")
_LIST_ANY = pydantic.TypeAdapter(list[Any])


class Page(list[Any]):
    """A cached page of wire models that renders its JSON once, however often it is served.

    ``web.base.dump_json`` uses ``__json__`` when a payload has it.
    """

    _json: bytes | None = None
    _etag: str | None = None

    def __json__(self) -> bytes:
        if self._json is None:
            self._json = _LIST_ANY.dump_json(self)
        return self._json

    def etag(self) -> str:
        """The ``ETag`` tornado computes for this body (a SHA-1 of it), hashed once."""
        if self._etag is None:
            self._etag = f'"{hashlib.sha1(self.__json__(), usedforsecurity=False).hexdigest()}"'
        return self._etag


class PageCache(Generic[V]):
    """Least-recently-used map whose entries are tagged with the change version they saw."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.local = 0  # commits made through this process's service
        self._entries: OrderedDict[Hashable, tuple[Hashable, V]] = OrderedDict()
        self._lock = threading.Lock()

    def bump(self) -> None:
        """A local write committed: every cached page may be stale."""
        with self._lock:
            self.local += 1

    def get(self, key: Hashable, version: Hashable, *, blocking: bool = True) -> V | None:
        """The entry of ``key`` if it saw ``version``; ``blocking=False``: also ``None`` when
        another thread holds the lock at this moment."""
        if not self._lock.acquire(blocking=blocking):
            return None
        try:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1]
        finally:
            self._lock.release()

    def put(self, key: Hashable, version: Hashable, value: V) -> None:
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


class PagedLog(Protocol):
    """What ``EventPages`` reads through: the event log."""

    db: Database

    def add_listener(self, listener: Callable[[frozenset[str]], None],
                     object_types: Iterable[str] | None = ...) -> None: ...
    def check_filter(self, user: User, flt: EventFilter) -> None: ...
    def read_events(self, session: Session, user: User, flt: EventFilter) -> list[EventOut]: ...


class Cursor(Protocol):
    """What ``EventPages`` needs from the live feed: how far this process has seen."""

    cursor: int

    @property
    def running(self) -> bool: ...


class EventPages:
    """``GET activity``: pages of the log, cached until this process sees a change."""

    def __init__(self, events: PagedLog, feed: Cursor, size: int = 256) -> None:
        self.events = events
        self.feed = feed
        self._cache: PageCache[list[EventOut]] = PageCache(size)
        events.add_listener(lambda _written: self._cache.bump())

    def list_events(self, user: User, flt: EventFilter) -> list[EventOut]:
        """Events visible to ``user`` matching ``flt`` (403 for another user's, non-admin)."""
        self.events.check_filter(user, flt)
        version = self._version()
        key = _key(user, flt)
        if version is not None and (page := self._cache.get(key, version)) is not None:
            return page
        with self.events.db.read() as session:
            page = Page(self.events.read_events(session, user, flt))
        if version is not None:
            self._cache.put(key, version, page)
        return page

    def cached(self, user: User, flt: EventFilter) -> list[EventOut] | None:
        """``list_events`` if the cache holds that page now, else ``None`` (then call
        ``list_events``). Never touches the database or waits for a lock, so a handler may
        call it on the event loop."""
        self.events.check_filter(user, flt)
        version = self._version()
        if version is None:
            return None
        return self._cache.get(_key(user, flt), version, blocking=False)

    def _version(self) -> tuple[int, int] | None:
        """What this process has seen of the log; ``None`` (no caching) without a feed."""
        if not self.feed.running:
            return None
        return (self.feed.cursor, self._cache.local)


def _key(user: User, flt: EventFilter) -> Hashable:
    """The cache key of a page: who asks (what they may see) and the filter."""
    return (user.username, user.is_admin, flt.model_dump_json())
