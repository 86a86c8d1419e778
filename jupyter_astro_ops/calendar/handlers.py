"""Calendar REST handlers under ``<base_url>astro-ops/api/v1/calendar/``.

Thin: parse with the pydantic models of ``schemas``, await ``CalendarService``, write JSON.
The Photon Ranch compatible endpoints (``compat_handlers``), the iCal feed endpoints
(``ical_handlers``) and the LCO import endpoints (``import_handlers``) join the route table
here, the one ``app.py`` reads.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..web.base import AstroOpsHandler, api_path
from .compat_handlers import routes as compat_routes
from .ical_handlers import routes as feed_routes
from .import_handlers import routes as import_routes
from .schemas import (
    SITE_CODE_BODY,
    AtQuery,
    EndingAfterQuery,
    ReservationIn,
    ReservationOut,
    ReservationPatch,
    SiteIn,
    ValidateIn,
    WindowQuery,
)
from .service import CalendarService

RID = r"(?P<reservation_id>[0-9a-f]{32})"
SITE = f"(?P<code>{SITE_CODE_BODY})"


class CalendarHandler(AstroOpsHandler):
    """Shared helpers of the calendar handlers."""

    @property
    def cal(self) -> CalendarService:
        return self.services.calendar.service

    def wakeups_after_reply(self) -> AbstractContextManager[None]:
        """Wrap a write and its reply: the activity listeners (live feed poll, page cache)
        are called once the response is written, not inside the commit."""
        return self.services.activity.events.wakeups_after()

    def write_reservation(self, out: ReservationOut, status: int = 200,
                          location: str | None = None) -> None:
        self.set_header("ETag", f'"{out.version}"')
        self.write_json(out, status, location=location)


class SitesHandler(CalendarHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(await self.call(self.cal.list_sites, self.astro_user))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        site = await self.call(self.cal.add_site, self.astro_user, self.parse_body(SiteIn))
        self.write_json(site, 201, location=self.url_for_api(f"calendar/sites/{site.code}"))


class SiteHandler(CalendarHandler):
    @web.authenticated
    @authorized
    async def get(self, code: str) -> None:
        self.write_json(await self.call(self.cal.get_site, self.astro_user, code))


class ReservationsHandler(CalendarHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.parse_query(WindowQuery)
        args = (self.astro_user, query.site, query.start, query.end, query.include_cancelled)
        # from memory on the loop when the index can answer at once, else in a thread
        page = self.cal.reservations_json_from_memory(*args)
        self.write_json(page if page is not None else await self.call(
            self.cal.reservations_json, *args))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        spec = self.parse_body(ReservationIn)
        with self.wakeups_after_reply():
            out = await self.call_write(self.cal.create, self.astro_user, spec)
            self.write_reservation(out, 201, self.url_for_api(f"calendar/reservations/{out.id}"))


class ReservationHandler(CalendarHandler):
    @web.authenticated
    @authorized
    async def get(self, reservation_id: str) -> None:
        self.write_reservation(await self.call(self.cal.get, self.astro_user, reservation_id))

    @web.authenticated
    @authorized
    async def patch(self, reservation_id: str) -> None:
        patch = self.parse_body(ReservationPatch)
        with self.wakeups_after_reply():
            out = await self.call_write(self.cal.modify, self.astro_user, reservation_id,
                                        patch, self.if_match())
            self.write_reservation(out)

    @web.authenticated
    @authorized
    async def delete(self, reservation_id: str) -> None:
        with self.wakeups_after_reply():
            await self.call_write(self.cal.cancel, self.astro_user, reservation_id, self.if_match())
            self.no_content()


class ActiveAtHandler(CalendarHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.parse_query(AtQuery)
        self.write_json(await self.call(self.cal.active_at, self.astro_user, query.site,
                                        query.time))


class UserReservationsHandler(CalendarHandler):
    @web.authenticated
    @authorized
    async def get(self, username: str) -> None:
        query = self.parse_query(EndingAfterQuery)
        self.write_json(await self.call(self.cal.user_reservations, self.astro_user, username,
                                        query.ending_after))


class ValidateHandler(CalendarHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        spec = self.parse_body(ValidateIn)
        self.write_json(await self.call(self.cal.validate, self.astro_user, spec))


routes = [
    (api_path("calendar/sites"), SitesHandler),
    (api_path(f"calendar/sites/{SITE}"), SiteHandler),
    (api_path("calendar/reservations"), ReservationsHandler),
    (api_path("calendar/reservations/at"), ActiveAtHandler),
    (api_path(f"calendar/reservations/{RID}"), ReservationHandler),
    (api_path(r"calendar/users/(?P<username>[^/]+)/reservations"), UserReservationsHandler),
    (api_path("calendar/validate"), ValidateHandler),
    *compat_routes,
    *feed_routes,
    *import_routes,
]
