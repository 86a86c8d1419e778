"""The People Planner Viewer on a real database (SQLite and PostgreSQL) with the real parts."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import panel as pn
import panel_material_ui as pmui
import pytest

from jupyter_astro_ops.compose import Services
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.identity import RoleMap, User
from jupyter_astro_ops.dashboards.planner_form import NONE
from jupyter_astro_ops.dashboards.planner_source import (
    WHO,
    PlannerSource,
    column_label,
)
from jupyter_astro_ops.dashboards.planner_view import PlannerDashboard
from jupyter_astro_ops.dashboards.text import WRAP
from jupyter_astro_ops.dashboards.windows import days_of, step
from jupyter_astro_ops.planner.schemas import BlockIn, EmployeeRecord, EntryIn

from ..conftest import ROLES, make_services

MON = date(2030, 1, 7)
ROLE_MAP = RoleMap({**ROLES, "planner_admin": ["dave"]})
STAFF = [
    {"username": "bob", "display_name": "Bob <b>Night</b>", "department": "Operations",
     "roles": ["night_attendant"]},
    {"username": "carol", "display_name": "Carol Assist", "department": "Operations",
     "roles": ["observing_assistant"]},
    {"username": "dave", "display_name": "Dave Lead", "department": "Engineering"},
]


@pytest.fixture
def services(db: Database) -> Services:
    services = make_services(db, {"FeedHub": {"poll_interval": 0.2}})
    admin = ROLE_MAP.resolve("dave")
    services.planner.employees.apply_records(admin, [EmployeeRecord(**s) for s in STAFF])
    return services


def user(name: str) -> User:
    return ROLE_MAP.resolve(name, name.title())


def dashboard(services: Services, name: str) -> PlannerDashboard:
    dash = PlannerDashboard(source=PlannerSource(services.planner, user(name)), day=MON)
    dash.load()
    return dash


def texts(view: Any) -> str:
    """The text of every Markdown/Alert pane in ``view``."""
    panes = view.select(lambda obj: isinstance(obj, pn.pane.Markdown | pmui.Alert))
    return " ".join(str(p.object) for p in panes)


def cell_text(dash: PlannerDashboard, username: str, day: date) -> str:
    row = dash.frame[dash.frame["username"] == username].iloc[0]
    return str(row[column_label(day, dash.view)])


def test_the_week_shows_coverage_and_everyone(services: Services) -> None:
    services.planner.service.create_entries(user("bob"), EntryIn(
        start_date=MON, blocks=[BlockIn(location="SUNight", start="18:00", end="06:00")]))
    dash = dashboard(services, "carol")
    kinds = list(dash.frame["row"])
    assert kinds[:3] == ["coverage"] * 3 and kinds[3:].count("person") == 3
    assert len(dash.labels) == 7
    assert "pp-stored" in cell_text(dash, "bob", MON) and "SUNight 18:00-06:00" in cell_text(
        dash, "bob", MON)
    assert "pp-default" in cell_text(dash, "carol", MON)
    assert cell_text(dash, "carol", MON + timedelta(days=5)) == ""  # Saturday: nothing
    gaps = dash.frame[dash.frame["row"] == "coverage"].iloc[1]  # observing assistants
    assert "pp-gap" in gaps[column_label(MON, "week")]
    assert "Bob <b>Night</b> · Operations" in list(dash.frame["who"])  # Tabulator escapes it
    assert "SUNight" in dash._legend.object and "uncovered" in dash._legend.object


def test_user_text_is_escaped_in_html_cells(services: Services) -> None:
    services.planner.service.create_entries(user("bob"), EntryIn(
        start_date=MON, blocks=[BlockIn(location="WFH", start="08:00", end="12:00")],
        note="<script>alert(1)</script>"))
    dash = dashboard(services, "bob")
    dash.view = "day"
    dash.load()
    text = cell_text(dash, "bob", MON)
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_editing_your_own_cell(services: Services) -> None:
    dash = dashboard(services, "bob")
    dash.select_cell("bob", MON)
    # the form starts from what the cell shows: here bob's default day
    form = dash.form
    assert form._form.visible and (form.loc1, form.start1, form.end1) == ("HQ", "08:00",
                                                                          "17:00")
    assert "Vacation" not in dash.form.param.loc1.objects  # not settable on your own row
    dash.form.param.update(loc1="WFH", start1="08:00", end1="12:00", note="")
    dash.form.save()
    assert "needs a note" in dash.form.refusal  # the service's own message
    dash.form.param.update(note="cell 555", loc2="HQ", start2="11:00", end2="17:00")
    dash.form.save()
    assert "overlaps" in dash.form.refusal
    dash.form.param.update(start2="13:00")
    dash.form.save()
    assert dash.form.refusal == "" and dash.form.notice.startswith("Saved")
    stored = services.planner.service.list_entries(user("bob"), MON, MON, "bob")
    assert [b.location for b in stored[0].blocks] == ["WFH", "HQ"]
    assert "pp-stored" in cell_text(dash, "bob", MON)
    dash.select_cell("bob", MON)  # again: the form edits the stored entry in place
    dash.form.param.update(loc2=NONE)
    dash.form.save()
    again = services.planner.service.list_entries(user("bob"), MON, MON, "bob")
    assert [b.location for b in again[0].blocks] == ["WFH"] and again[0].version == 2
    dash.select_cell("bob", MON)
    dash.form.delete()
    assert services.planner.service.list_entries(user("bob"), MON, MON, "bob") == []
    assert "pp-default" in cell_text(dash, "bob", MON)


def test_others_rows_are_read_only_but_not_for_planner_admins(services: Services) -> None:
    dash = dashboard(services, "bob")
    dash.select_cell("carol", MON)
    assert dash.form.editing is None and "read-only" in dash.form.notice
    admin = dashboard(services, "dave")
    admin.select_cell("carol", MON)
    admin.form.param.update(loc1="Vacation", start1="08:00", end1="17:00",
                       until=MON + timedelta(days=4))
    admin.form.save()
    assert admin.form.refusal == ""
    week = services.planner.service.list_entries(user("dave"), MON, MON + timedelta(days=6),
                                                 "carol")
    assert len(week) == 5 and all(e.entered_by == "dave" for e in week)


def test_swaps_in_the_dashboard(services: Services) -> None:
    services.planner.service.create_entries(user("bob"), EntryIn(
        start_date=MON, blocks=[BlockIn(location="SUNight", start="18:00", end="06:00")]))
    bob = dashboard(services, "bob")
    bob.select_cell("bob", MON)
    assert bob.form._offer_row.visible
    bob.form.offer_to = "carol"
    bob.form.offer()
    assert bob.form.notice.startswith("Asked") and len(bob.swaps) == 1
    carol = dashboard(services, "carol")
    [swap] = carol.swaps
    assert "asks Carol Assist to take SUNight 18:00-06:00" in texts(carol.swap_panel())
    carol.decide(swap.id, "accept")
    assert carol.form.refusal == "" and carol.swaps == []
    assert "SUNight" in cell_text(carol, "carol", MON)


def test_filters_where_is_and_empty_state(services: Services) -> None:
    dash = dashboard(services, "bob")
    dash.department = "Engineering"
    assert list(dash.frame[dash.frame["row"] == "person"]["username"]) == ["dave"]
    dash.department = "(all)"
    dash.only_me = True
    assert list(dash.frame[dash.frame["row"] == "person"]["username"]) == ["bob"]
    dash.search = "Carol Assist (carol)"
    assert "Carol Assist (carol)" in dash.answer
    dash.search = "zelda"
    assert "Nobody called" in dash.answer
    dash.only_me = False
    dash.role = "night_attendant"
    dash.location = "Vacation"
    assert "Nobody matches" in texts(dash.empty_state())


def test_month_view_is_readable(services: Services) -> None:
    dash = dashboard(services, "bob")
    dash.view = "month"
    assert len(dash.labels) == 31 and dash._table.widths[column_label(MON, "month")] == 56
    assert dash._table.formatters[WHO] == WRAP  # a long name wraps (the browser test
    # checks that nothing in the grid is cut)
    dash.navigate(1)
    assert dash.day == date(2030, 2, 1) and len(dash.labels) == 28


def test_a_read_that_began_before_a_newer_one_is_not_shown(services: Services) -> None:
    """A feed reload that started in the week view and answers after a switch to the month
    view must not put the week back (the browser then saw two column changes at once)."""
    dash = dashboard(services, "bob")
    week_asked = dash._ask()
    week = dash.fetch_window()
    dash.view = "month"  # reloads (inline when not served): a newer read
    dash._answered(week_asked, week)
    assert len(dash.labels) == 31 and dash.view == "month"


def test_window_helpers() -> None:
    assert days_of("week", date(2030, 1, 9)) == (MON, MON + timedelta(days=6))
    assert days_of("month", date(2030, 12, 9)) == (date(2030, 12, 1), date(2030, 12, 31))
    assert step("month", date(2030, 12, 9), 1) == date(2031, 1, 1)
    assert step("day", MON, -1) == MON - timedelta(days=1)


async def test_follow_shows_other_peoples_changes_live(services: Services) -> None:
    dash = dashboard(services, "bob")
    hub = services.activity.feed
    await hub.start()
    task = asyncio.ensure_future(dash.follow(hub))
    try:
        spec = EntryIn(start_date=MON, blocks=[BlockIn(location="HQ", start="09:00",
                                                       end="11:00")])
        await asyncio.to_thread(services.planner.service.create_entries, user("carol"), spec)
        for _ in range(100):  # bounded wait for the feed to deliver (not a timing assertion)
            if "pp-stored" in cell_text(dash, "carol", MON):
                break
            await asyncio.sleep(0.05)
        assert "HQ 09:00-11:00" in cell_text(dash, "carol", MON)
    finally:
        task.cancel()
        await hub.stop()
