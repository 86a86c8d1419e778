"""Rendered planner reads, kept until anything is written (``c.PlannerService.read_cache_size``).

The grid of a month (500 people: 15,500 cells) and its coverage are read far more often than
entries change. Every planner change writes an activity event in its own transaction, so the
newest activity change number (``ChangeClock.latest_seq``, one indexed ``max()``, shared by
every process on the database) tells whether a rendered answer is still current. The number is
read *before* building, so a write that commits meanwhile makes the next read rebuild: an
answer is never served past a change it might have missed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Protocol

from pydantic import TypeAdapter

_ANY: TypeAdapter[Any] = TypeAdapter(Any)


class ChangeClock(Protocol):
    """What the cache asks of the activity log: the newest committed change."""

    def latest_seq(self) -> int: ...


class Rendered:
    """A JSON body rendered once (``web.base.dump_json`` serves ``__json__`` as it is)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __json__(self) -> bytes:
        return self.body


def render(data: Any) -> Rendered:
    """``data`` (models, dicts, dates...) as JSON, in pydantic-core."""
    return Rendered(_ANY.dump_json(data))


class ReadCache:
    """A small LRU of rendered answers, each valid for the change number it was built at."""

    def __init__(self, clock: ChangeClock, size: int) -> None:
        self.clock = clock
        self.size = size
        self._items: OrderedDict[Hashable, tuple[int, Rendered]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, build: Callable[[], Any]) -> Rendered:
        """The rendered answer for ``key``: cached if nothing changed since, else built."""
        if self.size <= 0:
            return render(build())
        seq = self.clock.latest_seq()
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0] == seq:
                self._items.move_to_end(key)
                self.hits += 1
                return found[1]
        body = render(build())
        with self._lock:
            self.misses += 1
            self._items[key] = (seq, body)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return body


__all__ = ["ChangeClock", "ReadCache", "Rendered", "render"]
