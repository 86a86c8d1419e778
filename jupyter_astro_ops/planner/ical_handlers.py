"""REST glue of the planner's iCal feeds (``planner.ical``), per person, department, location.

``GET planner/people/<user>.ics``, ``planner/departments/<name>.ics`` and
``planner/locations/<code>.ics`` are read by calendar clients that cannot log in to Jupyter:
``ical.handlers.IcsHandler`` accepts the user's shared feed token (``?feed_token=``, created
with ``POST calendar/feed-token``; one token reads every feed of the product) or the Jupyter
login, and adds HTTP caching (``ETag``/304).
"""

from __future__ import annotations

from jupyter_server.auth.decorator import allow_unauthenticated

from ..ical.handlers import IcsHandler
from ..web.base import api_path
from .schemas import CODE_BODY


class PersonFeedHandler(IcsHandler):
    """``GET planner/people/<username>.ics``."""

    @allow_unauthenticated
    async def get(self, username: str) -> None:
        user = await self.reader()
        feeds = self.services.planner.ical
        self.write_feed(await self.call(feeds.person_feed, user, username))


class DepartmentFeedHandler(IcsHandler):
    """``GET planner/departments/<department>.ics``."""

    @allow_unauthenticated
    async def get(self, department: str) -> None:
        user = await self.reader()
        feeds = self.services.planner.ical
        self.write_feed(await self.call(feeds.department_feed, user, department))


class LocationFeedHandler(IcsHandler):
    """``GET planner/locations/<code>.ics``."""

    @allow_unauthenticated
    async def get(self, code: str) -> None:
        user = await self.reader()
        feeds = self.services.planner.ical
        self.write_feed(await self.call(feeds.location_feed, user, code))


routes = [
    (api_path(r"planner/people/(?P<username>[A-Za-z0-9_][A-Za-z0-9_.@\-]{0,127})\.ics"),
     PersonFeedHandler),
    (api_path(r"planner/departments/(?P<department>[^/]{1,64})\.ics"), DepartmentFeedHandler),
    (api_path(rf"planner/locations/(?P<code>{CODE_BODY})\.ics"), LocationFeedHandler),
]
