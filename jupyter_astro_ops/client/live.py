"""The live activity feed from Python: ``<base_url>astro-ops/api/v1/live`` over a websocket.

Same login as the REST API (the ``Authorization: token`` header). A ``LiveFeed`` subscribes
with a cursor and filters and yields each event the server sends, validated as ``EventOut``;
if the connection drops it reconnects with the last ``seq`` it saw, so no event is missed::

    with LiveFeed(ws_url, token) as feed:
        for ev in feed.events(EventFilter(object_type=["STAGING_JOB"]), since=0, timeout=1.0):
            ...   # ev is an EventOut, or None after ``timeout`` seconds without news
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import websocket

from ..activity.schemas import EventFilter, EventOut, LiveEvent
from .errors import ConnectionFailed

RECONNECT_TRIES = 5


class LiveFeed:
    """A websocket subscription to the activity feed, with reconnect from the last ``seq``."""

    def __init__(self, url: str, token: str | None, *, connect_timeout: float = 10.0) -> None:
        self.url = url
        self.token = token
        self.connect_timeout = connect_timeout
        self.last_seq: int | None = None
        self._ws: websocket.WebSocket | None = None

    def __enter__(self) -> LiveFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None

    def _connect(self, flt: EventFilter, since: int | None) -> websocket.WebSocket:
        headers = [f"Authorization: token {self.token}"] if self.token else []
        try:
            ws = websocket.create_connection(self.url, header=headers,
                                             timeout=self.connect_timeout)
        except (OSError, websocket.WebSocketException) as exc:
            raise ConnectionFailed(f"cannot open the live feed at {self.url}: {exc}",
                                   url=self.url) from exc
        filters = flt.model_dump(mode="json", exclude={"since", "limit"}, exclude_defaults=True)
        ws.send(json.dumps({"type": "subscribe", "since": since, "filters": filters}))
        return ws

    def events(self, flt: EventFilter, since: int | None = None,
               timeout: float = 1.0) -> Iterator[EventOut | None]:
        """Events matching ``flt`` changed after ``since`` (``None``: live only), then live
        ones; ``None`` whenever ``timeout`` seconds pass without one (so callers can check a
        deadline). Ends only when the caller stops iterating; raises ``ConnectionFailed`` if
        the server stays unreachable."""
        self.last_seq = since
        tries = 0
        while True:
            if self._ws is None:
                self._ws = self._connect(flt, self.last_seq)
            self._ws.settimeout(timeout)
            try:
                message = self._ws.recv()
            except websocket.WebSocketTimeoutException:
                yield None
                continue
            except (OSError, websocket.WebSocketException) as exc:
                self.close()
                tries += 1
                if tries > RECONNECT_TRIES:
                    raise ConnectionFailed(f"the live feed at {self.url} dropped: {exc}",
                                           url=self.url) from exc
                time.sleep(min(0.2 * 2 ** tries, 5.0))
                continue
            tries = 0
            event = _event(message)
            if event is not None:
                self.last_seq = event.seq
                yield event.event


def _event(message: Any) -> LiveEvent | None:
    """A server frame as ``LiveEvent``; error frames and unknown frames are skipped."""
    try:
        data = json.loads(message)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("type") != "event":
        return None
    return LiveEvent.model_validate(data)


__all__ = ["LiveFeed"]
