"""Data side of the landing page and the sidebar: each dashboard's icon and live figure.

``CARDS`` is looked up by app name (``registry.dashboards()``): an icon for the sidebar and the
card, and a figure function ``(services, user) -> Figure`` (your requests waiting for a
decision, your running jobs, your bookings this week). An app without an entry gets
``DEFAULT``: a generic icon and no figure, so adding a dashboard needs at most one entry here.
Figures are blocking reads through the services (every rule stays theirs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from ..compose import Services
from ..core.identity import User
from ..core.timeutil import utcnow
from ..staging.schemas import JobQuery
from .activity_text import who
from .calendar_source import window_for
from .text import plural

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Figure:
    """A live number for a card: ``value`` then ``label`` ("2" "requests waiting for you")."""

    value: int
    label: str
    detail: str = ""


FigureFn = Callable[[Services, User], Figure]


@dataclass(frozen=True)
class Card:
    """What the index and the sidebar know about one dashboard beyond its docstring."""

    icon: str = "dashboard"  # a Material icon name
    figure: FigureFn | None = None


def waiting_requests(services: Services, user: User) -> Figure:
    """Requests the user may decide (PIs: joins of their projects; admins: every request)."""
    pending = services.activity.requests.pending_requests(user)
    detail = "Nothing to decide." if not pending else f"Oldest from {who(pending[0])}."
    label = "request waiting for you" if len(pending) == 1 else "requests waiting for you"
    return Figure(len(pending), label, detail)


def running_jobs(services: Services, user: User) -> Figure:
    """The user's staging jobs that are queued or running."""
    jobs = services.staging.service.list_jobs(user, JobQuery(status=["queued", "running"]))
    running = sum(1 for j in jobs if j.status == "running")
    detail = f"{running} running, {len(jobs) - running} queued." if jobs else "No jobs running."
    label = "job of yours running or queued" if len(jobs) == 1 else \
        "jobs of yours running or queued"
    return Figure(len(jobs), label, detail)


def bookings_this_week(services: Services, user: User) -> Figure:
    """The user's active reservations overlapping the current week (Monday to Sunday, UTC)."""
    now = utcnow()
    start, end = window_for("week", now.date())
    mine = [r for r in services.calendar.service.list_reservations(user, None, start, end)
            if r.creator_id == user.username and r.status == "active"]
    upcoming = [r for r in mine if r.end > now]
    if upcoming:
        first = min(upcoming, key=lambda r: r.start)
        soon = first.start - now
        when = "now" if soon <= timedelta(0) else f"{first.start:%a %H:%M} UTC"
        names = {site.code: site.name for site in services.calendar.service.list_sites(user)}
        detail = f"Next: {first.title} at {names.get(first.site, first.site)}, {when}."
    else:
        detail = "Nothing booked ahead this week."
    label = "bookings of yours this week" if len(mine) != 1 else "booking of yours this week"
    return Figure(len(mine), label, detail)


def signoffs_for_you(services: Services, user: User) -> Figure:
    """Open Ocat revisions with a pending sign-off in a column the user may sign."""
    ocat = services.ocat.service
    rows = [r for r in ocat.board(user) if r.state == "open"]
    mine = [r for r in rows if any(s["status"] == "pending" and ocat.may_sign(user, column)
                                   for column, s in r.signoffs.items())]
    detail = f"Oldest: {mine[-1].label} ({mine[-1].target_name})." if mine else \
        f"{plural(len(rows), 'open revision')}, none waiting for you."
    label = "revision waiting for your sign-off" if len(mine) == 1 else \
        "revisions waiting for your sign-off"
    return Figure(len(mine), label, detail)


def gaps_this_week(services: Services, user: User) -> Figure:
    """Uncovered shifts (rule x day short of people) from today to the end of the week."""
    today = utcnow().date()
    end = window_for("week", today)[1].date()
    cover = services.planner.service.coverage(user, today, end - timedelta(days=1))
    short = [c for c in cover.cells if c.gap > 0]
    detail = f"First: {short[0].rule} on {short[0].day:%a %d %b}." if short else \
        "Every shift is covered."
    label = "uncovered shift this week" if len(short) == 1 else "uncovered shifts this week"
    return Figure(len(short), label, detail)


CARDS: dict[str, Card] = {
    "activity": Card("timeline", waiting_requests),
    "calendar": Card("event", bookings_this_week),
    "ocat": Card("fact_check", signoffs_for_you),
    "planner": Card("groups", gaps_this_week),
    "staging": Card("cloud_download", running_jobs),
}
DEFAULT = Card()


def card_for(name: str) -> Card:
    """The card of app ``name`` (``DEFAULT`` for an app without an entry)."""
    return CARDS.get(name, DEFAULT)


class IndexSource:
    """Blocking reads of every card's figure for one user."""

    def __init__(self, services: Services, user: User) -> None:
        self.services = services
        self.user = user

    def figures(self, names: list[str]) -> dict[str, Figure | None]:
        """``{app name: figure}``; ``None`` for an app without a figure or whose read failed."""
        out: dict[str, Figure | None] = {}
        for name in names:
            fn = card_for(name).figure
            try:
                out[name] = fn(self.services, self.user) if fn else None
            except Exception:  # one broken figure must not take the landing page down
                log.exception("index: the figure of %s failed", name)
                out[name] = None
        return out


__all__ = ["CARDS", "DEFAULT", "Card", "Figure", "IndexSource", "card_for"]
