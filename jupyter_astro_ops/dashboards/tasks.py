"""Running work for a dashboard session: service calls off the event loop, feed followers.

Shared by every Viewer so that each follows the same rules under ``panel serve``:

* ``run_blocking`` runs a (blocking, SQLAlchemy/fsspec) service call in a thread when served and
  inline in a notebook or test; the result or the refusal comes back as a next-tick callback of
  the session's document, i.e. with its lock held, so callbacks may change Bokeh models.
* ``follow_while_open`` keeps a live-feed follower running for as long as the session lives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

import panel as pn
import pydantic

from ..core.errors import Conflict, Forbidden, NotFound, ValidationError

# Refusals a user can cause (400/403/404/409): shown on the page, never raised.
DOMAIN_ERRORS = (Conflict, Forbidden, NotFound, ValidationError, pydantic.ValidationError)


def served() -> bool:
    """True inside a ``panel serve`` session (False in a notebook or a test)."""
    doc = pn.state.curdoc
    return bool(doc and doc.session_context)


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


def follow_while_open(follower: Coroutine[Any, Any, None]) -> None:
    """Run ``follower`` (a feed-following coroutine) until the session is destroyed."""
    task = asyncio.ensure_future(follower)

    def stop(_session: Any) -> None:
        task.cancel()

    pn.state.on_session_destroyed(stop)
