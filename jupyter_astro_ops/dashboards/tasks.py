"""Running work for a dashboard session: service calls off the event loop, feed followers.

Shared by every Viewer so that each follows the same rules under ``panel serve``:

* ``run_blocking`` runs a (blocking, SQLAlchemy/fsspec) service call in a thread when served and
  inline in a notebook or test; the result or the refusal comes back as a next-tick callback of
  the session's document, i.e. with its lock held, so callbacks may change Bokeh models.
* ``first_load`` reads a page's first data in a thread and sets it *before* the page shows
  the Viewer (an ``async`` page builder): each table and figure reaches the browser complete.
  Data set on a next tick after the page showed its Viewer raced the first render of the
  table in Chromium, and now and then an Ocat board stayed empty (a CI run).
* ``follow_while_open`` keeps a live-feed follower running for as long as the session lives;
  ``reload_on_events`` turns a feed subscription into coalesced reloads (one per burst), and
  ``follow_objects`` does that for the events of some object types.
* ``with_document`` applies a change to raw Bokeh models (the calendar's timeline) with the
  session's document lock held. Panel runs some widget callbacks (a Tabulator click) as plain
  asyncio tasks outside that lock: Panel's own models cope, but a raw Bokeh model changed
  there raises ``_pending_writes should be non-None`` on the server and never reaches the
  browser, so such changes always go through the document's next-tick callback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from functools import partial
from typing import Any, TypeVar

import panel as pn
import pydantic

from ..activity.schemas import EventFilter
from ..core.errors import Conflict, Forbidden, NotFound, ValidationError
from ..core.identity import User

log = logging.getLogger(__name__)
T = TypeVar("T")

# Refusals a user can cause (400/403/404/409): shown on the page, never raised.
DOMAIN_ERRORS = (Conflict, Forbidden, NotFound, ValidationError, pydantic.ValidationError)


def served() -> bool:
    """True inside a ``panel serve`` session (False in a notebook or a test)."""
    doc = pn.state.curdoc
    return bool(doc and doc.session_context)


def session_document() -> Any | None:
    """The served session's Bokeh document (``None`` in a notebook or a test)."""
    return pn.state.curdoc if served() else None


def with_document(doc: Any | None, change: Callable[[], None]) -> None:
    """Run ``change`` with ``doc``'s lock held: as its next-tick callback when served (from any
    task or thread), at once when ``doc`` is ``None`` (a notebook or a test)."""
    if doc is None:
        change()
    else:
        doc.add_next_tick_callback(change)


def run_blocking(work: Callable[[], Any], done: Callable[[Any], None],
                 fail: Callable[[Exception], None]) -> None:
    """Run ``work`` in a thread when served, inline otherwise; then ``done(result)``.

    Domain errors go to ``fail``; anything else is a bug and propagates.
    """
    if not served():
        try:
            result = work()
        except DOMAIN_ERRORS as exc:
            fail(exc)
            return
        done(result)
        return
    doc = pn.state.curdoc
    assert doc is not None  # served() checked it

    async def run() -> None:
        try:
            result = await asyncio.to_thread(work)
        except DOMAIN_ERRORS as exc:
            doc.add_next_tick_callback(partial(fail, exc))
        else:
            doc.add_next_tick_callback(partial(done, result))

    pn.state.execute(run)


async def first_load(fetch: Callable[[], T], show: Callable[[T], None],
                     say: Callable[[str, str], None], what: str) -> bool:
    """``show(fetch())`` with ``fetch`` in a thread; on failure log it and ``say`` on the page
    that ``what`` could not be loaded (an error, never a blank page). True if shown."""
    try:
        data = await asyncio.to_thread(fetch)
    except Exception:
        log.exception("dashboards: loading %s failed", what)
        say(f"Could not load {what}; reload the page to retry.", "error")
        return False
    show(data)
    return True


def follow_while_open(follower: Coroutine[Any, Any, None]) -> None:
    """Run ``follower`` (a feed-following coroutine) until the session is destroyed."""
    task = asyncio.ensure_future(follower)

    def stop(_session: Any) -> None:
        task.cancel()

    pn.state.on_session_destroyed(stop)


async def follow_objects(hub: Any, watcher: User, object_types: list[str] | None,
                         reload: Callable[[], Awaitable[None]], since: int | None = None) -> None:
    """Await ``reload()`` after the feed's events on objects of ``object_types`` (``None``:
    every event ``watcher`` may see), one reload per burst, from ``since`` (a feed cursor
    read before the page's first load) when given."""
    flt = EventFilter() if object_types is None else EventFilter(object_type=object_types)
    await reload_on_events(hub.subscribe(watcher, flt, since), reload)


async def reload_on_events(subscription: AsyncIterator[Any],
                           reload: Callable[[], Awaitable[None]]) -> None:
    """Await ``reload()`` after events of ``subscription`` until cancelled.

    A burst of events (an import, several bookings, a job's progress) costs one reload, not one
    each: events arriving during a reload only mark the data stale, and the loop reloads once
    more. ``subscription`` is closed at the end (it has a ``close()``).
    """
    stale = asyncio.Event()

    async def reloader() -> None:
        while True:
            await stale.wait()
            stale.clear()
            try:
                await reload()
            except Exception:  # keep following; the next event retries
                log.exception("dashboards: reloading after a feed event failed")

    task = asyncio.ensure_future(reloader())
    try:
        async for _ev in subscription:
            stale.set()
    finally:
        subscription.close()  # type: ignore[attr-defined]
        task.cancel()
