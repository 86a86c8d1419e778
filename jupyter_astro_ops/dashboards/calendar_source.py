"""Calendar dashboard, data side: ``CalendarSource``, the time windows, the feed follower.

``CalendarSource`` is the blocking data access for one user through ``CalendarService`` and
the activity ``Projects`` (every rule, owner checks included, stays in the service);
``window_for`` is a view's window in UTC (``windows.days_of``); ``WATCHER`` follows the
``RESERVATION`` events of the live feed (``tasks.follow_objects``). How rows and summaries read is
``calendar_text``; the Viewer is ``calendar_view.CalendarDashboard``, the Bokeh timeline
``calendar_timeline.Timeline``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from ..activity.projects import Projects
from ..calendar.schemas import (
    ReservationIn,
    ReservationOut,
    ReservationPatch,
    SiteOut,
    ValidateIn,
    ValidateOut,
)
from ..calendar.service import CalendarService
from ..core.identity import User
from .windows import days_of

log = logging.getLogger(__name__)

# The feed hides other users' events from non-admins, but reservations are public: the feed is
# only a *signal* to reload the window (read as the session's user), so it is watched with this
# process-internal identity. Nothing read through it is shown.
WATCHER = User("astro-ops:calendar-dashboard", "Calendar dashboard", roles=frozenset({"admin"}))


def window_for(view: str, day: date) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of the day, the week (Monday first) or the month of ``day``."""
    first, last = days_of(view, day)
    return (datetime.combine(first, time(), timezone.utc),
            datetime.combine(last + timedelta(days=1), time(), timezone.utc))


def form_utc(value: date | None) -> datetime | None:
    """Widgets hold naive datetimes; the dashboard means UTC."""
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


@dataclass
class Catalog:
    """What the user may pick and what ids are called: sites, their projects, every project."""

    sites: list[SiteOut] = field(default_factory=list)
    mine: dict[str, int] = field(default_factory=dict)  # the user's projects: name -> id
    names: dict[int, str] = field(default_factory=dict)  # every project: id -> name


class CalendarSource:
    """Blocking data access for one user; every rule is the service's."""

    def __init__(self, service: CalendarService, projects: Projects, user: User) -> None:
        self.service = service
        self.projects_part = projects
        self.user = user

    def sites(self) -> list[SiteOut]:
        return self.service.list_sites(self.user)

    def catalog(self) -> Catalog:
        """Sites, the user's projects (bookable with a project) and every project's name."""
        every = self.projects_part.list_projects(self.user)
        mine = {p.name: p.id for p in every
                if any(m.username == self.user.username for m in p.members)}
        return Catalog(self.sites(), mine, {p.id: p.name for p in every})

    def window(self, start: datetime, end: datetime) -> list[ReservationOut]:
        return self.service.list_reservations(self.user, None, start, end)

    def validate(self, spec: ValidateIn) -> ValidateOut:
        return self.service.validate(self.user, spec)

    def create(self, spec: ReservationIn) -> ReservationOut:
        return self.service.create(self.user, spec)

    def modify(self, rid: str, patch: ReservationPatch) -> ReservationOut:
        return self.service.modify(self.user, rid, patch)

    def cancel(self, rid: str, version: int) -> ReservationOut:
        return self.service.cancel(self.user, rid, version)

    def may_edit(self, res: ReservationOut) -> bool:
        """Same rule the service enforces: the creator or a calendar admin."""
        return res.creator_id == self.user.username or self.user.has_role(
            self.service.admin_role)

    def is_mine(self, res: ReservationOut) -> bool:
        return res.creator_id == self.user.username
