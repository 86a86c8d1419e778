"""The landing page's Viewer on a real database: a card per dashboard with a live figure."""

from __future__ import annotations

from datetime import timedelta

from jupyter_astro_ops.activity.schemas import RequestIn
from jupyter_astro_ops.calendar.schemas import ReservationIn
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.timeutil import utcnow
from jupyter_astro_ops.dashboards.index import IndexDashboard
from jupyter_astro_ops.dashboards.index_source import IndexSource
from jupyter_astro_ops.dashboards.registry import dashboards

from ..conftest import make_services

SITES = {"saf": {"name": "Santa Fe", "timezone": "America/Denver"}}


def test_a_card_per_dashboard_with_live_figures(db: Database, users) -> None:
    services = make_services(db, {"CalendarService": {"sites": SITES}})
    services.activity.requests.create_request(users["bob"], RequestIn(kind="project.create",
                                                                      name="Index Survey"))
    soon = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    services.calendar.service.create(users["alice"], ReservationIn(
        site="saf", start=soon, end=soon + timedelta(hours=1), title="Flats"))
    dash = IndexDashboard(source=IndexSource(services, users["alice"]))
    dash.load()
    names = {info.name for info in dashboards()}
    assert names == {"activity", "calendar", "ocat", "planner", "staging"}
    assert set(dash.figures) == names
    assert all(dash.figures[name] is not None for name in names)  # every figure was read
    activity = dash.figures["activity"]
    assert activity is not None and (activity.value, activity.label) == (
        1, "request waiting for you")
    assert activity.detail == "Oldest from Bob."  # the display name, not the username
    calendar = dash.figures["calendar"]
    assert calendar is not None and calendar.value in (0, 1)  # this week's, by UTC week
    if calendar.value:
        assert "Santa Fe" in calendar.detail and "saf," not in calendar.detail  # names
    cards = dash.cards()
    titles = [card.title for card in cards.objects]
    assert titles == [info.title for info in dashboards()]


def test_a_broken_figure_does_not_take_the_page_down(db: Database, users,
                                                     monkeypatch) -> None:
    services = make_services(db)
    source = IndexSource(services, users["bob"])

    def broken(*_args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(services.staging.service, "list_jobs", broken)
    figures = source.figures(["staging", "activity"])
    assert figures["staging"] is None and figures["activity"] is not None
