"""The POC duty rota as an iCalendar feed (``GET ocat/rota.ics``), one all-day event a period.

Read with the shared per-user feed token (``ical.tokens``) or the Jupyter login through
``ical.handlers.IcsHandler``. ``UID`` is ``ocat-rota-<start>@<uid_domain>`` (a period keeps
its first day unless it is merged away); ``SEQUENCE`` is the period's version, so a changed
assignment updates the event in place.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from icalendar import Calendar, Event
from traitlets import Unicode
from traitlets.config import LoggingConfigurable

from ..core.identity import User
from ..ical.feed import Feed
from .schemas import RotaPeriodOut

PRODID = "-//jupyter_astro_ops//Ocat POC rota//EN"


class RotaSource(Protocol):
    def periods(self, user: User, start: Any = ..., end: Any = ...) -> list[RotaPeriodOut]: ...


class RotaFeed(LoggingConfigurable):
    """Renders the rota feed (``c.RotaFeed.*``)."""

    uid_domain = Unicode("astro-ops.local", config=True,
                         help="Domain part of every event UID; keep it fixed once subscribed.")
    calendar_name = Unicode("Astro Ops: Ocat POC duty", config=True,
                            help="Display name of the calendar (X-WR-CALNAME).")

    def __init__(self, rota: RotaSource, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rota = rota

    def feed(self, user: User) -> Feed:
        periods = self.rota.periods(user)
        cal = Calendar()
        cal.add("prodid", PRODID)
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("x-wr-calname", self.calendar_name)
        for p in periods:
            event = Event()
            event.add("uid", f"ocat-rota-{p.start.isoformat()}@{self.uid_domain}")
            event.add("dtstamp", p.modified)
            event.add("dtstart", p.start)
            event.add("dtend", p.end + timedelta(days=1))
            event.add("summary", f"POC duty: {p.poc}" if p.poc else "POC duty: (open)")
            event.add("sequence", p.version)
            event.add("transp", "TRANSPARENT")
            event.add("categories", ["ocat-rota"])
            cal.add_component(event)
        return Feed.of(cal.to_ical(), "ocat-rota.ics", None)


__all__ = ["RotaFeed"]
