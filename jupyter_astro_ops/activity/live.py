"""Websocket ``<base_url>astro-ops/api/v1/live``: the live feed with filters and replay.

Authentication is exactly the REST API's: the handler is a ``JupyterHandler`` (Jupyter's
identity provider resolves the login from the token header, ``?token=`` or the cookie), and
``ws_authenticated`` refuses an anonymous upgrade with 403 before any websocket is opened.

Protocol (JSON text frames)::

    client: {"type": "subscribe", "since": 41, "filters": {"status": ["PENDING"]}}
    server: {"type": "event", "seq": 42, "event": {...EventOut...}}
    server: {"type": "error", "message": "..."}      # bad message; the socket stays open

A new ``subscribe`` replaces the previous one; ``filters.since``/``filters.limit`` are not used
here (the cursor is the top-level ``since``; ``null`` means live events only). Reconnect with
the last ``seq`` you received to get every event you missed, then live ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pydantic
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..core.errors import AstroOpsError
from ..core.identity import User
from ..web.base import services_of, to_jsonable, user_from_jupyter
from ..web.errors import describe
from ..web.inputs import load_body
from .feed import Subscription
from .schemas import LiveError, LiveEvent, LiveSubscribe


class LiveHandler(WebSocketMixin, WebSocketHandler, ExtensionHandlerMixin,  # type: ignore[misc]
                  JupyterHandler):
    """Streams activity events to one websocket client."""

    auth_resource = "astro_ops"

    def initialize(self, *args: Any, **kwargs: Any) -> None:
        super().initialize(*args, **kwargs)
        self._sub: Subscription | None = None
        self._pump: asyncio.Task[None] | None = None
        self._user: User | None = None

    def set_default_headers(self) -> None:
        """JupyterHandler's API headers make no sense on a websocket upgrade."""

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "read", self.auth_resource))
        if not allowed:
            raise web.HTTPError(403)
        self._user = user_from_jupyter(self.current_user, services_of(self.settings).roles)
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open(*args, **kwargs)
        # every event is one small frame: with Nagle's algorithm on, a frame sent while the
        # previous one awaits the client's (delayed, ~40 ms) ACK waited for it
        self.set_nodelay(True)

    async def on_message(self, message: str | bytes) -> None:
        raw = message.encode("utf-8", "surrogatepass") if isinstance(message, str) else message
        try:  # the REST body limits (size, depth, string policy), then the model
            await self._subscribe(LiveSubscribe.model_validate(load_body(raw)))
        except (pydantic.ValidationError, AstroOpsError) as exc:  # bad JSON too: no crash
            with contextlib.suppress(WebSocketClosedError):
                self._send(LiveError(message=describe(exc)[0]))

    async def _subscribe(self, msg: LiveSubscribe) -> None:
        assert self._user is not None
        hub = services_of(self.settings).activity.feed
        await hub.start()  # no-op once running (pytest-jupyter never starts the extension)
        sub = hub.subscribe(self._user, msg.filters, msg.since)
        self._stop()
        self._sub = sub
        self._pump = asyncio.create_task(self._forward(sub))

    async def _forward(self, sub: Subscription) -> None:
        try:
            async for ev in sub:
                self._send(LiveEvent(seq=ev.seq, event=ev))
        except WebSocketClosedError:
            return
        except Exception:
            self.log.exception("astro-ops live feed failed")
        if sub.overflowed:  # the client was too slow; it resumes from its last seq
            with contextlib.suppress(WebSocketClosedError):
                self.close(1013, "too far behind; reconnect with your last seq")

    def _send(self, payload: Any) -> None:
        if self.ws_connection is None or self.ws_connection.is_closing():
            raise WebSocketClosedError()
        self.write_message(json.dumps(to_jsonable(payload)))

    def _stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        if self._pump is not None:
            self._pump.cancel()
        self._sub = self._pump = None

    def on_close(self) -> None:
        self._stop()


__all__ = ["LiveHandler"]
