"""REST glue of the calendar's iCal feeds and of the per-user feed token.

``GET calendar/sites/<site>.ics`` and ``GET calendar/users/<user>.ics`` are read by calendar
clients that cannot log in to Jupyter; ``ical.handlers.IcsHandler`` accepts either the user's
feed token or the Jupyter login and adds HTTP caching. ``calendar/feed-token`` lets a
logged-in user create or rotate (POST), inspect (GET) and revoke (DELETE) their own token
(one token per user reads every feed of the product).
"""

from __future__ import annotations

from urllib.parse import quote

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from tornado import web

from ..ical.handlers import IcsHandler
from ..web.base import api_path
from .schemas import SITE_CODE_BODY, FeedTokenOut

SITE = f"(?P<site>{SITE_CODE_BODY})"


class SiteFeedHandler(IcsHandler):
    """``GET calendar/sites/<site>.ics``."""

    @allow_unauthenticated
    async def get(self, site: str) -> None:
        user = await self.reader()
        self.write_feed(await self.call(self.services.calendar.ical.site_feed, user, site))


class UserFeedHandler(IcsHandler):
    """``GET calendar/users/<username>.ics`` (the user's own bookings; admins read any)."""

    @allow_unauthenticated
    async def get(self, username: str) -> None:
        user = await self.reader()
        self.write_feed(await self.call(self.services.calendar.ical.user_feed, user, username))


class FeedTokenHandler(IcsHandler):
    """``calendar/feed-token``: the logged-in user's own feed token."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.call(self.services.ical_tokens.status, self.astro_user))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        user = self.astro_user
        token, created = await self.call(self.services.ical_tokens.issue, user)
        sites = await self.call(self.services.calendar.service.list_sites, user)
        out = FeedTokenOut(
            token=token, created=created,
            user_feed=self.feed_url(f"calendar/users/{quote(user.username, safe='')}.ics",
                                    token),
            site_feeds={s.code: self.feed_url(f"calendar/sites/{s.code}.ics", token)
                        for s in sites},
        )
        self.write_json(out, 201, location=self.url_for_api("calendar/feed-token"))

    @web.authenticated
    @authorized
    async def delete(self) -> None:
        await self.call(self.services.ical_tokens.revoke, self.astro_user)
        self.no_content()


routes = [
    (api_path(rf"calendar/sites/{SITE}\.ics"), SiteFeedHandler),
    (api_path(r"calendar/users/(?P<username>[^/]+)\.ics"), UserFeedHandler),
    (api_path(r"calendar/feed-token"), FeedTokenHandler),
]
