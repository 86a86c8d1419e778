"""Calendar dashboard, data side: ``CalendarSource``, the time windows, the feed follower.

``CalendarSource`` is the blocking data access for one user through ``CalendarService`` (every
rule, owner checks included, stays in the service); ``window_for``/``step`` compute the day,
week and month windows; ``reservation_row``/``conflict_list``/``selected_summary`` format what
the Viewer shows; ``follow_reservations`` turns ``RESERVATION`` events of the live feed into
coalesced reloads. The Viewer is ``calendar_view.CalendarDashboard``,
the Bokeh timeline ``calendar_timeline.Timeline``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from ..activity.projects import Projects
from ..activity.schemas import EventFilter
from ..calendar.schemas import (
    ReservationIn,
    ReservationOut,
    ReservationPatch,
    SiteOut,
    ValidateIn,
    ValidateOut,
)
from ..calendar.service import OBJECT_TYPE, CalendarService
from ..core.identity import User

log = logging.getLogger(__name__)

# The feed hides other users' events from non-admins, but reservations are public: the feed is
# only a *signal* to reload the window (read as the session's user), so it is watched with this
# process-internal identity. Nothing read through it is shown.
WATCHER = User("astro-ops:calendar-dashboard", "Calendar dashboard", roles=frozenset({"admin"}))
TIME_FMT = "%Y-%m-%d %H:%M"
FREE = "The slot is free."
COLUMNS = ["site", "start", "end", "title", "type", "who", "project", "note", "editable",
           "start_utc", "end_utc"]


def window_for(view: str, day: date) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of the day, the week (Monday first) or the month of ``day``."""
    if view == "day":
        first = day
        last = day + timedelta(days=1)
    elif view == "week":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=7)
    else:
        first = day.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1)
    return (datetime.combine(first, time(), timezone.utc),
            datetime.combine(last, time(), timezone.utc))


def step(view: str, day: date, direction: int) -> date:
    """``day`` moved one view-length forwards (``+1``) or backwards (``-1``)."""
    if view == "day":
        return day + timedelta(days=direction)
    if view == "week":
        return day + timedelta(days=7 * direction)
    month = day.month - 1 + direction
    return date(day.year + month // 12, month % 12 + 1, 1)


def window_label(view: str, day: date | None) -> str:
    """``**Mon 02 Mar 2026** to **Sun 08 Mar 2026** (UTC)``: the window in words."""
    start, end = window_for(view, day or datetime.now(timezone.utc).date())
    last = end - timedelta(days=1)
    text = f"**{start:%a %d %b %Y}**" + ("" if view == "day" else f" to **{last:%a %d %b %Y}**")
    return text + " (UTC)"


def reservation_row(r: ReservationOut, projects: dict[int, str],
                    editable: bool) -> dict[str, Any]:
    """One table row (``COLUMNS``); ``projects`` labels the user's projects by id."""
    project = "" if r.project_id is None else projects.get(r.project_id, f"#{r.project_id}")
    return {"site": r.site, "start": r.start.strftime(TIME_FMT),
            "end": r.end.strftime(TIME_FMT), "title": r.title, "type": r.type,
            "who": r.creator_name or r.creator_id, "project": project, "note": r.note,
            "editable": editable, "start_utc": r.start, "end_utc": r.end}


def conflict_list(conflicts: list[ReservationOut]) -> str:
    """The reservations in the way, as Markdown list items."""
    return "".join(f"\n- {c.site} {c.start.strftime(TIME_FMT)}..{c.end.strftime(TIME_FMT)} "
                   f"**{c.title}** ({c.creator_id})" for c in conflicts)


def selected_summary(res: ReservationOut, username: str, editable: bool) -> str:
    """Markdown about the selected reservation: whose, and whether the user may change it."""
    owner = "yours" if res.creator_id == username else res.creator_id
    rights = "you may edit it" if editable else "read-only"
    return (f"**Selected:** {res.title} at {res.site} ({owner}, {rights})  \n"
            f"{res.start.strftime(TIME_FMT)} .. {res.end.strftime(TIME_FMT)} UTC · {res.type} · "
            f"version {res.version}")


def form_utc(value: date | None) -> datetime | None:
    """Widgets hold naive datetimes; the dashboard means UTC."""
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


class CalendarSource:
    """Blocking data access for one user; every rule is the service's."""

    def __init__(self, service: CalendarService, projects: Projects, user: User) -> None:
        self.service = service
        self.projects_part = projects
        self.user = user

    def sites(self) -> list[SiteOut]:
        return self.service.list_sites(self.user)

    def projects(self) -> dict[str, int]:
        """``{label: id}`` of the projects the user belongs to (bookable with a project)."""
        mine = [p for p in self.projects_part.list_projects(self.user)
                if any(m.username == self.user.username for m in p.members)]
        return {f"{p.name} (#{p.id})": p.id for p in mine}

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




async def follow_reservations(hub: Any, reload: Callable[[], Awaitable[None]]) -> None:
    """Await ``reload()`` after ``RESERVATION`` changes in the feed, until cancelled.

    A burst of events (an import, several bookings) costs one reload, not one each: events
    arriving during a reload only mark the data stale, and the loop reloads once more.
    """
    stale = asyncio.Event()

    async def reloader() -> None:
        while True:
            await stale.wait()
            stale.clear()
            try:
                await reload()
            except Exception:  # keep following; the next event retries
                log.exception("calendar dashboard: reloading the window failed")

    task = asyncio.ensure_future(reloader())
    subscription = hub.subscribe(WATCHER, EventFilter(object_type=[OBJECT_TYPE]))
    try:
        async for _ev in subscription:
            stale.set()
    finally:
        subscription.close()
        task.cancel()
