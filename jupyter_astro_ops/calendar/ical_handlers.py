"""REST glue of the iCal feeds and of the per-user feed tokens.

``GET calendar/sites/<site>.ics`` and ``GET calendar/users/<user>.ics`` are read by calendar
clients that cannot log in to Jupyter, so they are ``@allow_unauthenticated`` at the Jupyter
layer and check access themselves: EITHER a valid ``?feed_token=`` (a per-user secret that only
reads feeds) OR the normal Jupyter login (then the Jupyter authorizer is asked as usual).
Anything else is a 403 JSON answer. ``calendar/feed-token`` lets a logged-in user create or
rotate (POST), inspect (GET) and revoke (DELETE) their own token.
"""

from __future__ import annotations

import inspect
import re
from urllib.parse import quote

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from tornado import httputil, web

from ..core.errors import Forbidden, Unauthenticated
from ..core.identity import User
from ..web.base import ROLEMAP_KEY, AstroOpsHandler, api_path
from .feeds import FeedTokenOut, FeedTokens
from .feeds.schemas import ImportRunIn
from .ical import Feed, ICalFeeds
from .importers import ScheduleImporter, import_status

ICAL_KEY = "astro_ops_ical_feeds"
IMPORTER_KEY = "astro_ops_schedule_importer"
CONTENT_TYPE = "text/calendar; charset=utf-8"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class _FeedBase(AstroOpsHandler):
    """Shared access to the feed builder and the token store."""

    @property
    def feeds(self) -> ICalFeeds:
        feeds = self.settings.get(ICAL_KEY)
        if feeds is None:  # built once, configured as c.ICalFeeds.* (parent: the calendar)
            feeds = self.settings[ICAL_KEY] = ICalFeeds(parent=self.service("calendar"))
        return feeds

    @property
    def importer(self) -> ScheduleImporter:
        importer = self.settings.get(IMPORTER_KEY)
        if importer is None:  # configured as c.ScheduleImporter.*
            importer = self.settings[IMPORTER_KEY] = ScheduleImporter(
                parent=self.service("calendar"))
        return importer

    @property
    def tokens(self) -> FeedTokens:
        return FeedTokens(self.service("calendar").db)

    def feed_url(self, path: str, token: str) -> str:
        """Absolute subscription URL of a feed, with the feed token."""
        host = f"{self.request.protocol}://{self.request.host}"
        return f"{host}{self.url_for_api(path)}?feed_token={quote(token)}"


class _IcsHandler(_FeedBase):
    """Base of the two ``.ics`` feeds: explicit authentication, HTTP caching."""

    async def reader(self) -> User:
        """The reading user: from ``?feed_token=`` if given, else from the Jupyter login."""
        token = self.get_query_argument("feed_token", None)
        if token is not None:
            user = await self.call(self.tokens.resolve, token, self.settings[ROLEMAP_KEY])
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

    def write_feed(self, feed: Feed) -> None:
        """Send the calendar, or 304 when the client's copy is current."""
        self.set_header("Cache-Control", f"private, max-age={60 * self.feeds.refresh_minutes}")
        self.set_header("ETag", feed.etag)
        self.set_header("Content-Disposition",
                        f'inline; filename="{_UNSAFE.sub("_", feed.filename)}"')
        if feed.last_modified is not None:
            self.set_header("Last-Modified", httputil.format_timestamp(feed.last_modified))
        # Only the ETag decides: Last-Modified cannot see a booking leave the window.
        if self.check_etag_header():
            self.set_status(304)
            self.finish(set_content_type=CONTENT_TYPE)
            return
        self.finish(feed.body, set_content_type=CONTENT_TYPE)


class SiteFeedHandler(_IcsHandler):
    """``GET calendar/sites/<site>.ics``."""

    @allow_unauthenticated
    async def get(self, site: str) -> None:
        user = await self.reader()
        feed = await self.call(self.feeds.site_feed, self.service("calendar"), user, site)
        self.write_feed(feed)


class UserFeedHandler(_IcsHandler):
    """``GET calendar/users/<username>.ics`` (the user's own bookings; admins read any)."""

    @allow_unauthenticated
    async def get(self, username: str) -> None:
        user = await self.reader()
        feed = await self.call(self.feeds.user_feed, self.service("calendar"), user, username)
        self.write_feed(feed)


class FeedTokenHandler(_FeedBase):
    """``calendar/feed-token``: the logged-in user's own feed token."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.call(self.tokens.status, self.astro_user))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        user = self.astro_user
        token, created = await self.call(self.tokens.issue, user)
        sites = await self.call(self.service("calendar").list_sites, user)
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
        await self.call(self.tokens.revoke, self.astro_user)
        self.no_content()


class ImportsHandler(_FeedBase):
    """``GET calendar/imports``: the last schedule imported per site."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        service = self.service("calendar")
        self.write_json(await self.call(import_status, service, self.astro_user))


class ImportRunHandler(_FeedBase):
    """``POST calendar/imports/<site>``: run the site's configured import now (admins)."""

    @web.authenticated
    @authorized
    async def post(self, site: str) -> None:
        body = self.parse_body(ImportRunIn)
        summary = await self.call(self.importer.run_site, self.service("calendar"),
                                  self.astro_user, site, dry_run=body.dry_run,
                                  force=body.force)
        self.write_json(summary)


routes = [
    (api_path(r"calendar/sites/(?P<site>[a-z0-9][a-z0-9_-]{0,31})\.ics"), SiteFeedHandler),
    (api_path(r"calendar/users/(?P<username>[^/]+)\.ics"), UserFeedHandler),
    (api_path(r"calendar/feed-token"), FeedTokenHandler),
]
import_routes = [
    (api_path(r"calendar/imports"), ImportsHandler),
    (api_path(r"calendar/imports/(?P<site>[a-z0-9][a-z0-9_-]{0,31})"), ImportRunHandler),
]
