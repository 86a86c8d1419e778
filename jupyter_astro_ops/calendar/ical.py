"""iCalendar (RFC 5545) feeds of the calendar, rendered with the ``icalendar`` library.

One feed per site (``calendar/sites/<site>.ics``) and one per user (``calendar/users/<user>.ics``,
the reservations that user created). What calendar clients rely on:

* ``UID`` is ``<reservation id>@<uid_domain>`` and never changes, so a moved booking is updated
  in place rather than duplicated;
* ``SEQUENCE`` is the reservation's change counter and ``DTSTAMP``/``LAST-MODIFIED`` its last
  change, so the document is byte-identical until something changes (a stable ``ETag``);
* cancelled bookings stay in the feed for ``cancelled_days`` as ``STATUS:CANCELLED`` so that
  subscribed clients remove them instead of keeping a ghost;
* every time is UTC (``...Z``); no ``VTIMEZONE`` is needed.

Framework-free: reads through the calendar service it is handed (authorization included);
``calendar.ical_handlers`` serves it through the shared ``ical.handlers.IcsHandler`` (feed
tokens, HTTP caching).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from icalendar import Calendar, Event
from icalendar.prop import vDuration
from traitlets import Float, Int, Unicode
from traitlets.config import LoggingConfigurable

from ..core.errors import Forbidden, NotFound
from ..core.identity import User
from ..core.timeutil import utcnow
from ..ical.feed import Feed
from .schemas import ReservationOut, SiteOut
from .writes import LOCAL_ORIGIN

PRODID = "-//jupyter_astro_ops//Telescope calendar//EN"


class FeedSource(Protocol):
    """What the feeds read through (the calendar service)."""

    admin_role: str

    def list_sites(self, user: User) -> list[SiteOut]: ...
    def list_reservations(self, user: User, site: str | None, start: datetime, end: datetime,
                          include_cancelled: bool = ...) -> list[ReservationOut]: ...
    def created_by(self, user: User, username: str, start: datetime, end: datetime
                   ) -> list[ReservationOut]: ...
    def project_keys(self, project_ids: set[int]) -> dict[int, tuple[str, datetime]]: ...


class ICalFeeds(LoggingConfigurable):
    """Builds the site and user iCal feeds; the knobs are ``c.ICalFeeds.*``."""

    uid_domain = Unicode(
        "astro-ops.local", config=True,
        help=(
            "Domain part of every event UID (<reservation id>@<domain>). Keep it fixed once "
            "users have subscribed: changing it makes every event look new to their clients."
        ),
    )
    past_days = Float(
        31.0, config=True, help="How many days of past reservations a feed includes."
    )
    future_days = Float(
        366.0, config=True, help="How many days ahead of now a feed includes."
    )
    cancelled_days = Float(
        14.0, config=True,
        help=(
            "How long a cancelled reservation stays in the feeds as STATUS:CANCELLED (days "
            "after cancellation), so subscribed clients learn that it was cancelled."
        ),
    )
    refresh_minutes = Int(
        15, config=True,
        help="Refresh interval suggested to clients (REFRESH-INTERVAL, Cache-Control max-age).",
    )
    calendar_prefix = Unicode(
        "Astro Ops", config=True, help="Start of every calendar's display name (X-WR-CALNAME)."
    )

    def __init__(self, source: FeedSource, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source

    # -- feeds ---------------------------------------------------------------------------------
    def site_feed(self, user: User, site: str, now: datetime | None = None) -> Feed:
        """Every reservation at ``site`` in the window (404 for an unknown site)."""
        now = now or utcnow()
        sites = {s.code: s.name for s in self.source.list_sites(user)}
        if site not in sites:
            raise NotFound(f"no site {site!r}")
        start, end = self._window(now)
        rows = self.source.list_reservations(user, site, start, end, include_cancelled=True)
        name = f"{self.calendar_prefix}: {sites[site]} ({site})"
        return self._feed(name, self._visible(rows, now), sites, f"{site}.ics")

    def user_feed(self, user: User, username: str, now: datetime | None = None) -> Feed:
        """Reservations created by ``username``: readable by that user and by admins."""
        if username != user.username and not user.has_role(self.source.admin_role):
            raise Forbidden(f"{user.username} may not read the calendar feed of {username}")
        now = now or utcnow()
        start, end = self._window(now)
        rows = self.source.created_by(user, username, start, end)
        sites = {s.code: s.name for s in self.source.list_sites(user)}
        name = f"{self.calendar_prefix}: {username}"
        return self._feed(name, self._visible(rows, now), sites, f"{username}.ics")

    # -- helpers -------------------------------------------------------------------------------
    def _window(self, now: datetime) -> tuple[datetime, datetime]:
        return now - timedelta(days=self.past_days), now + timedelta(days=self.future_days)

    def _visible(self, rows: Iterable[ReservationOut], now: datetime) -> list[ReservationOut]:
        """Active reservations, and cancelled ones cancelled less than ``cancelled_days`` ago."""
        keep_after = now - timedelta(days=self.cancelled_days)
        return [r for r in rows if r.status == "active"
                or (r.cancelled_at or r.modified) >= keep_after]

    def _feed(self, name: str, rows: list[ReservationOut], sites: dict[str, str],
              filename: str) -> Feed:
        project_ids = {r.project_id for r in rows if r.project_id is not None}
        projects = {pid: key[0] for pid, key in self.source.project_keys(project_ids).items()}
        body = render_calendar(name, rows, projects=projects, sites=sites,
                               uid_domain=self.uid_domain, refresh_minutes=self.refresh_minutes)
        last = max((r.modified for r in rows), default=None)
        return Feed.of(body, filename, last, self.refresh_minutes)


def render_calendar(
    name: str, reservations: Iterable[ReservationOut], *, projects: dict[int, str],
    sites: dict[str, str], uid_domain: str, refresh_minutes: int = 15,
) -> bytes:
    """An RFC 5545 ``VCALENDAR`` with one ``VEVENT`` per reservation (deterministic output)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-caldesc", "Telescope reservations (jupyter_astro_ops)")
    refresh = timedelta(minutes=refresh_minutes)
    cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(refresh))
    for r in sorted(reservations, key=lambda r: (r.start, r.id)):
        cal.add_component(reservation_event(r, projects=projects, sites=sites,
                                            uid_domain=uid_domain))
    return cal.to_ical()


def reservation_event(
    r: ReservationOut, *, projects: dict[int, str], sites: dict[str, str], uid_domain: str
) -> Event:
    """One reservation as a ``VEVENT``."""
    event = Event()
    event.add("uid", f"{r.id}@{uid_domain}")
    event.add("dtstamp", r.modified)
    event.add("created", r.created)
    event.add("last-modified", r.modified)
    event.add("dtstart", r.start)
    event.add("dtend", r.end)
    event.add("summary", r.title)
    event.add("description", describe(r, projects))
    event.add("location", f"{sites.get(r.site, r.site)} ({r.site})")
    event.add("categories", [r.type])
    event.add("sequence", r.sequence)
    event.add("status", "CANCELLED" if r.status == "cancelled" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("x-astro-ops-origin", r.origin)
    return event


def describe(r: ReservationOut, projects: dict[int, str]) -> str:
    """The ``DESCRIPTION``: type, project, who booked it, origin and note."""
    project = projects.get(r.project_id, str(r.project_id)) if r.project_id is not None else "none"
    lines = [f"Type: {r.type}", f"Project: {project}",
             f"Booked by: {r.creator_name} ({r.creator_id})"]
    if r.origin != LOCAL_ORIGIN:
        lines.append(f"Imported from: {r.origin} (id {r.external_id})")
    if r.note:
        lines.append(f"Note: {r.note}")
    return "\n".join(lines)
