"""The base of every ``.ics`` route: a feed token or the Jupyter login, and HTTP caching.

``.ics`` feeds are read by calendar clients that cannot log in to Jupyter, so their handlers
are ``@allow_unauthenticated`` at the Jupyter layer and check access here: EITHER a valid
``?feed_token=`` (a per-user secret that only reads feeds, see ``tokens``) OR the normal
Jupyter login (then the Jupyter authorizer is asked as usual). Anything else is a 403 JSON
answer. A domain's feed handler derives from ``IcsHandler``, gets the reading user from
``await self.reader()`` and answers with ``self.write_feed(feed)``.
"""

from __future__ import annotations

import inspect
import re
from urllib.parse import quote

from tornado import httputil

from ..core.errors import Forbidden, Unauthenticated
from ..core.identity import User
from ..web.base import AstroOpsHandler
from .feed import Feed

CONTENT_TYPE = "text/calendar; charset=utf-8"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class IcsHandler(AstroOpsHandler):
    """Explicit authentication and caching for iCal feeds."""

    async def reader(self) -> User:
        """The reading user: from ``?feed_token=`` if given, else from the Jupyter login."""
        token = self.get_query_argument("feed_token", None)
        if token is not None:
            user = await self.call(self.services.ical_tokens.resolve, token,
                                   self.services.roles)
            if user is None:
                raise Forbidden("invalid or revoked feed token")
            return user
        if self.current_user is None:
            raise Unauthenticated(
                "log in, or subscribe with ?feed_token=... (POST calendar/feed-token)")
        allowed = self.authorizer.is_authorized(self, self.current_user, "read",
                                                self.auth_resource)
        if inspect.isawaitable(allowed):
            allowed = await allowed
        if not allowed:
            raise Forbidden("not authorized to read astro_ops")
        return self.astro_user

    def feed_url(self, path: str, token: str) -> str:
        """Absolute subscription URL of a feed under the API, with the feed token."""
        host = f"{self.request.protocol}://{self.request.host}"
        return f"{host}{self.url_for_api(path)}?feed_token={quote(token)}"

    def write_feed(self, feed: Feed) -> None:
        """Send the calendar, or 304 when the client's copy is current."""
        self.set_header("Cache-Control", f"private, max-age={60 * feed.refresh_minutes}")
        self.set_header("ETag", feed.etag)
        self.set_header("Content-Disposition",
                        f'inline; filename="{_UNSAFE.sub("_", feed.filename)}"')
        if feed.last_modified is not None:
            self.set_header("Last-Modified", httputil.format_timestamp(feed.last_modified))
        # Only the ETag decides: Last-Modified cannot see an entry leave the window.
        if self.check_etag_header():
            self.set_status(304)
            self.finish(set_content_type=CONTENT_TYPE)
            return
        self.finish(feed.body, set_content_type=CONTENT_TYPE)


__all__ = ["CONTENT_TYPE", "IcsHandler"]
