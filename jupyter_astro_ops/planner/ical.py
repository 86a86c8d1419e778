"""iCalendar (RFC 5545) feeds of the planner: per person, per department, per location.

A feed holds the *resolved schedule*: stored and imported blocks, never generated defaults (a
calendar full of "HQ 08:00-17:00" would drown what matters). One ``VEVENT`` per block:

* ``UID`` is ``<entry id>-<position>@<uid_domain>``, ``SEQUENCE`` the entry's version minus
  one and ``DTSTAMP``/``LAST-MODIFIED`` its last change, so the document is byte-identical until
  something changes (a stable ``ETag``) and a moved block is updated in place;
* entries deleted less than ``cancelled_days`` ago stay as ``STATUS:CANCELLED``, so subscribed
  clients drop them;
* every time is UTC (``...Z``), so no ``VTIMEZONE`` is needed.

Readable by any logged-in user (or their shared feed token, ``ical.tokens``): the planner is
the organisation's public "where is everyone". Served by ``planner.ical_handlers``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from icalendar import Calendar, Event
from icalendar.prop import vDuration
from sqlalchemy import select
from sqlalchemy.orm import Session
from traitlets import Float, Int, Unicode
from traitlets.config import LoggingConfigurable

from ..core.db import Database
from ..core.errors import NotFound
from ..core.identity import User
from ..core.timeutil import utcnow
from ..ical.feed import Feed
from . import timing
from .locations import LocationType
from .models import Block, Employee, Entry

PRODID = "-//jupyter_astro_ops//People planner//EN"


class FeedCatalog(Protocol):
    """What the feeds need of the planner service."""

    db: Database
    types: dict[str, LocationType]


class PlannerFeeds(LoggingConfigurable):
    """Builds the planner's iCal feeds; the knobs are ``c.PlannerFeeds.*``."""

    uid_domain = Unicode(
        "planner.astro-ops.local", config=True,
        help=("Domain part of every event UID. Keep it fixed once people have subscribed: "
              "changing it makes every event look new to their calendar clients."))
    past_days = Float(14.0, config=True, help="How many days of the past a feed includes.")
    future_days = Float(93.0, config=True, help="How many days ahead a feed includes.")
    cancelled_days = Float(
        14.0, config=True,
        help="How long a deleted entry stays in the feeds as STATUS:CANCELLED, in days.")
    refresh_minutes = Int(
        15, config=True,
        help="Refresh interval suggested to clients (REFRESH-INTERVAL, Cache-Control max-age).")
    calendar_prefix = Unicode("Astro Ops planner", config=True,
                              help="Start of every calendar's display name (X-WR-CALNAME).")

    def __init__(self, planner: FeedCatalog, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.planner = planner

    def person_feed(self, user: User, username: str, now: datetime | None = None) -> Feed:
        """The blocks of one person (404 if there is no such employee)."""
        with self.planner.db.read() as session:
            emp = session.get(Employee, username)
            if emp is None:
                raise NotFound(f"no employee {username!r} in the planner")
            names = {username: emp.display_name}
            return self._feed(session, f"{emp.display_name} ({username})", names, None,
                              f"{username}.ics", now)

    def department_feed(self, user: User, department: str, now: datetime | None = None) -> Feed:
        """The blocks of everyone in ``department``."""
        with self.planner.db.read() as session:
            rows = session.execute(select(Employee.username, Employee.display_name)
                                   .where(Employee.department == department)).all()
            if not rows:
                raise NotFound(f"no department {department!r} in the planner")
            names = {r[0]: r[1] for r in rows}
            return self._feed(session, department, names, None, f"{department}.ics", now)

    def location_feed(self, user: User, code: str, now: datetime | None = None) -> Feed:
        """Everyone's blocks at location ``code``."""
        kind = self.planner.types.get(code)
        if kind is None:
            raise NotFound(f"no location {code!r}")
        with self.planner.db.read() as session:
            names = dict(session.execute(select(Employee.username, Employee.display_name))
                         .all())
            return self._feed(session, f"{kind.label} ({code})", names, code, f"{code}.ics",
                              now)

    def _feed(self, session: Session, title: str, names: dict[str, str],
              location: str | None, filename: str, now: datetime | None) -> Feed:
        now = now or utcnow()
        first = (now - timedelta(days=self.past_days)).date()
        last = (now + timedelta(days=self.future_days)).date()
        keep_after = now - timedelta(days=self.cancelled_days)
        stmt = (select(Entry, Block).join(Block, Block.entry_id == Entry.id)
                .where(Entry.day >= first, Entry.day <= last,
                       Entry.username.in_(sorted(names))))
        if location is not None:
            stmt = stmt.where(Block.location == location)
        rows = [(e, b) for e, b in session.execute(stmt)
                if not e.deleted or (e.deleted_at is not None and e.deleted_at >= keep_after)]
        body = render(f"{self.calendar_prefix}: {title}", rows, names, self.planner.types,
                      self.uid_domain, self.refresh_minutes)
        newest = max((e.modified for e, _ in rows), default=None)
        return Feed.of(body, filename, newest, self.refresh_minutes)


def render(name: str, rows: Iterable[tuple[Entry, Block]], names: dict[str, str],
           types: dict[str, LocationType], uid_domain: str, refresh_minutes: int) -> bytes:
    """A ``VCALENDAR`` with one ``VEVENT`` per block (deterministic output)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-caldesc", "Where people are (jupyter_astro_ops people planner)")
    refresh = timedelta(minutes=refresh_minutes)
    cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(refresh))
    for entry, block in sorted(rows, key=lambda r: (r[1].start, r[0].username, r[1].position)):
        cal.add_component(block_event(entry, block, names, types, uid_domain))
    return cal.to_ical()


def block_event(entry: Entry, block: Block, names: dict[str, str],
                types: dict[str, LocationType], uid_domain: str) -> Event:
    """One block as a ``VEVENT``."""
    kind = types.get(block.location)
    label = kind.label if kind is not None else block.location
    who = names.get(entry.username, entry.username)
    tz = timing.zone(entry.timezone)
    event = Event()
    event.add("uid", f"{entry.id}-{block.position}@{uid_domain}")
    event.add("dtstamp", entry.modified)
    event.add("created", entry.created)
    event.add("last-modified", entry.modified)
    event.add("dtstart", block.start)
    event.add("dtend", block.end)
    event.add("summary", f"{who}: {label}")
    lines = [f"{who} ({entry.username}): {label} ({block.location}), "
             f"{timing.local_clock(block.start, tz)}-{timing.local_clock(block.end, tz)} "
             f"{entry.timezone} on {entry.day.isoformat()}",
             "Entered by hand" if entry.origin == "hand" else f"Imported: {entry.origin}"]
    if entry.note:
        lines.append(f"Note: {entry.note}")
    event.add("description", "\n".join(lines))
    event.add("location", label)
    event.add("categories", [kind.kind if kind is not None else "place"])
    event.add("sequence", max(0, entry.version - 1))
    event.add("status", "CANCELLED" if entry.deleted else "CONFIRMED")
    event.add("transp", "OPAQUE" if kind is not None and kind.kind == "duty" else "TRANSPARENT")
    event.add("x-astro-ops-origin", entry.origin)
    return event


__all__ = ["PlannerFeeds", "block_event", "render"]
