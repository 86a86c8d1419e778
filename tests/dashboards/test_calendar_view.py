"""The Calendar Viewer on a real database (SQLite and PostgreSQL) with the real services."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from jupyter_astro_ops.activity.models import Project, ProjectMember
from jupyter_astro_ops.calendar.schemas import ReservationIn
from jupyter_astro_ops.calendar.service import CalendarService
from jupyter_astro_ops.compose import ActivityParts, Services
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.identity import User
from jupyter_astro_ops.dashboards.calendar_source import CalendarSource, window_for
from jupyter_astro_ops.dashboards.calendar_view import NO_PROJECT, CalendarDashboard
from jupyter_astro_ops.dashboards.windows import step

from ..conftest import make_services

SITES = {"saf": {"name": "Santa Fe", "timezone": "America/Denver"},
         "mrc": {"name": "Mountain Ranch Camp", "timezone": "America/Los_Angeles"}}
DAY = date(2030, 1, 2)  # a Wednesday, far in the future


def at(hour: float) -> datetime:
    """``DAY`` plus ``hour`` hours, as an aware UTC instant."""
    return datetime(2030, 1, 2, tzinfo=timezone.utc) + timedelta(hours=hour)


def naive(hour: float) -> datetime:
    """What the form's datetime widgets hold (naive, meaning UTC)."""
    return at(hour).replace(tzinfo=None)


@pytest.fixture
def services(db: Database) -> Services:
    return make_services(db, {"CalendarService": {"sites": SITES},
                              "FeedHub": {"poll_interval": 0.2}})


@pytest.fixture
def act(services: Services) -> ActivityParts:
    return services.activity


@pytest.fixture
def cal(services: Services) -> CalendarService:
    return services.calendar.service


@pytest.fixture
def carols(cal: CalendarService, users: dict[str, User]) -> str:
    """carol's booking at saf, 10:00-12:00 on DAY."""
    spec = ReservationIn(site="saf", start=at(10), end=at(12), title="carol's night")
    return cal.create(users["carol"], spec).id


def dashboard(cal: CalendarService, act: ActivityParts, user: User,
              **params: Any) -> CalendarDashboard:
    dash = CalendarDashboard(source=CalendarSource(cal, act.projects, user), day=DAY,
                             **params)
    dash.load()
    return dash


def fill(dash: CalendarDashboard, site: str, start: float, end: float, **form: Any) -> None:
    dash.param.update(site=site, start=naive(start), end=naive(end), **form)


def test_the_window_shows_every_site_and_booking(cal, act, users, carols) -> None:
    dash = dashboard(cal, act, users["bob"])
    assert sorted(dash.param.site.objects) == ["mrc", "saf"]
    assert dash.param.site.names == {"Mountain Ranch Camp (mrc)": "mrc", "Santa Fe (saf)": "saf"}
    assert list(dash.frame.index) == [carols]
    row = dash.frame.loc[carols]
    assert (row["who"], row["site"], row["project"]) == ("Carol", "Santa Fe (saf)", "-")
    assert row["when"] == "Wed 02 Jan 10:00-12:00" and row["local"] == "Wed 02 Jan 03:00-05:00 MST"
    assert dash.widgets.table.value is dash.frame
    assert set(dash.widgets.table.hidden_columns) >= {"mine", "editable", "start_utc"}
    assert list(dash.timeline.bookings.data["id"]) == [carols]
    assert dash.timeline.bookings.data["label"] == ["carol's night"]  # narrow: title only
    dash.view = "day"
    assert dash.timeline.bookings.data["label"] == ["carol's night · Carol"]
    assert list(dash.timeline.figure.y_range.factors) == ["Santa Fe (saf)",
                                                          "Mountain Ranch Camp (mrc)"]


def test_booking_through_the_form_creates_a_reservation(cal, act, users) -> None:
    dash = dashboard(cal, act, users["bob"])
    fill(dash, "mrc", 1, 3, title="M31 mosaic", note="needs flats")
    assert dash.check == "The slot is free." and dash.conflicts == []
    assert dash.check_kind == "success"
    assert not dash.widgets.book.disabled
    dash.widgets.book.clicks += 1
    stored = cal.list_reservations(users["bob"], "mrc", at(0), at(24))
    assert [(r.title, r.note, r.creator_id, r.start) for r in stored] == [
        ("M31 mosaic", "needs flats", "bob", at(1))]
    assert dash.notice.startswith("Booked **M31 mosaic** at Mountain Ranch Camp")
    assert dash.notice_kind == "success"
    assert dash.selected == stored[0].id and stored[0].id in dash.frame.index
    assert dash.frame.loc[stored[0].id, "editable"]
    assert not dash.widgets.save.disabled and not dash.widgets.delete.disabled


def test_project_booking_uses_the_users_projects(cal, act, db, users) -> None:
    with db.write() as session:
        row = Project(name="m31", description="", created_by="bob", created=at(0))
        session.add(row)
        session.flush()
        session.add(ProjectMember(project_id=row.id, username="bob", role="pi", added=at(0)))
        pid = row.id
    dash = dashboard(cal, act, users["bob"])
    label = "m31"  # the name, never "#1"
    assert dash.param.project.objects == [NO_PROJECT, label]
    fill(dash, "saf", 20, 21, kind="project", project=label)
    dash.book()
    (res,) = cal.list_reservations(users["bob"], "saf", at(0), at(24))
    assert (res.type, res.project_id) == ("project", pid)
    assert dashboard(cal, act, users["carol"]).param.project.objects == [NO_PROJECT]


def test_a_clash_is_shown_before_booking_and_nothing_is_booked(cal, act, users, carols) -> None:
    dash = dashboard(cal, act, users["bob"])
    fill(dash, "saf", 11, 13)
    assert [c.id for c in dash.conflicts] == [carols]
    assert dash.check.startswith("In the way: 1")
    assert dash.widgets.book.disabled and dash.check_kind == "warning"
    assert dash.timeline.proposal.data["color"] == ["#d1343b"]  # outlined as clashing
    dash.book()  # even if called anyway, the service refuses
    assert dash.notice.startswith("Refused") and dash.notice_kind == "error"
    assert [r.id for r in cal.list_reservations(users["bob"], "saf", at(0), at(24))] == [carols]
    fill(dash, "saf", 12, 13)  # touching is fine (half-open intervals)
    assert dash.conflicts == [] and not dash.widgets.book.disabled


def test_an_invalid_slot_is_explained(cal, act, users) -> None:
    dash = dashboard(cal, act, users["bob"])
    fill(dash, "saf", 5, 4)
    assert dash.check.startswith("Cannot book") and dash.widgets.book.disabled
    assert dash.check_kind == "error"


def test_someone_elses_booking_is_read_only(cal, act, users, carols) -> None:
    dash = dashboard(cal, act, users["bob"])
    dash.widgets.table.selection = [0]
    assert dash.selected == carols
    assert not dash.frame.loc[carols, "editable"]
    w = dash.widgets
    assert w.save.disabled and w.delete.disabled and w.book.disabled
    assert "read-only for you" in dash.check and dash.check_kind == "info"
    assert dash.start == naive(10)  # the form shows it
    dash.delete()  # refused by the service even when forced
    dash.save()
    assert dash.notice.startswith("Refused") and dash.notice_kind == "error"
    (res,) = cal.list_reservations(users["bob"], "saf", at(0), at(24))
    assert (res.status, res.version) == ("active", 1)


def test_a_calendar_admin_may_edit_anyones_booking(cal, act, users, carols) -> None:
    dash = dashboard(cal, act, users["dave"])
    dash.selected = carols
    assert not dash.widgets.save.disabled and not dash.widgets.delete.disabled


def test_edit_and_delete_your_own(cal, act, users, carols) -> None:
    dash = dashboard(cal, act, users["carol"])
    dash.selected = carols
    dash.param.update(end=naive(14), note="extended")
    assert dash.conflicts == [] and not dash.widgets.save.disabled  # its own slot: no clash
    dash.widgets.save.clicks += 1
    res = cal.get(users["carol"], carols)
    assert (res.end, res.note, res.version) == (at(14), "extended", 2)
    assert dash.frame.loc[carols, "when"] == "Wed 02 Jan 10:00-14:00"
    dash.selected = carols
    dash.widgets.delete.clicks += 1
    assert cal.get(users["carol"], carols).status == "cancelled"
    assert dash.frame.empty and dash.selected is None


def test_the_preview_follows_the_form_after_leaving_someone_elses_booking(
        cal, act, users, carols) -> None:
    """Defect: select carol's booking, switch to day view -> green "free" while listing it."""
    dash = dashboard(cal, act, users["bob"])
    dash.selected = carols
    dash.view = "day"  # the window changes; carol's booking is still in it
    assert dash.check_kind != "success" and dash.widgets.book.disabled
    dash.navigate(+1)  # carol's booking leaves the window: the selection goes, the form stays
    assert dash.selected is None
    assert dash.check_kind == "warning" and [c.id for c in dash.conflicts] == [carols]
    assert dash.widgets.book.disabled  # the form still holds carol's slot: it is not free
    dash.new_booking()
    fill(dash, "saf", 14, 15)
    assert dash.check == "The slot is free." and dash.conflicts == []


def test_a_stale_notice_goes_when_the_window_changes(cal, act, users, carols) -> None:
    dash = dashboard(cal, act, users["bob"])
    fill(dash, "saf", 11, 13)
    dash.book()
    assert dash.notice_kind == "error"
    dash.navigate(+1)
    assert dash.notice == ""


def test_an_empty_window_says_what_to_do(cal, act, users) -> None:
    dash = dashboard(cal, act, users["bob"])
    assert dash.frame.empty
    assert not dash.widgets.table_view.showing_table
    assert "press **Book**" in dash.widgets.empty.object


def test_typed_iso_instants_are_accepted() -> None:
    from jupyter_astro_ops.dashboards.widgets import IsoDatetimeInput, parse_typed_instant

    assert parse_typed_instant("2030-01-02T02:00Z") == datetime(2030, 1, 2, 2, 0)
    assert parse_typed_instant("2030-01-02 03:30+01:00") == datetime(2030, 1, 2, 2, 30)
    assert parse_typed_instant("tomorrow") is None
    field = IsoDatetimeInput(value=datetime(2030, 1, 1))
    props = field._process_property_change({"value": "2030-01-02T05:00:00+00:00"})
    assert props["value"] == datetime(2030, 1, 2, 5, 0)


def test_a_picked_instant_in_epoch_milliseconds_is_taken_as_utc() -> None:
    """The browser's picker sends ``value_input`` as a number: it once raised server-side."""
    from jupyter_astro_ops.dashboards.widgets import IsoDatetimeInput

    field = IsoDatetimeInput(value=datetime(2030, 1, 1))
    ms = datetime(2026, 12, 2, 7, 0, tzinfo=timezone.utc).timestamp() * 1000
    field.param.update(**field._process_property_change({"value_input": ms}))
    assert field.value_input == datetime(2026, 12, 2, 7, 0)
    props = field._process_property_change({"value": int(ms)})
    assert props["value"] == datetime(2026, 12, 2, 7, 0)
    typing = field._process_property_change({"value_input": "2026-12-02 0"})
    assert typing["value_input"] == "2026-12-02 0"  # half typed: left as it is


def test_navigation_changes_the_window(cal, act, users, carols) -> None:
    dash = dashboard(cal, act, users["bob"], view="day")
    assert dash.window == (at(0), at(24))
    dash.navigate(+1)
    assert dash.day == date(2030, 1, 3) and dash.frame.empty
    dash.navigate(-1)
    assert list(dash.frame.index) == [carols]
    dash.view = "week"
    assert dash.window == (at(-48), at(-48 + 7 * 24))  # Monday 2030-12-31 .. next Monday
    dash.view = "month"
    assert dash.window[0] == datetime(2030, 1, 1, tzinfo=timezone.utc)
    dash.navigate(+1)
    assert dash.window == (datetime(2030, 2, 1, tzinfo=timezone.utc),
                           datetime(2030, 3, 1, tzinfo=timezone.utc))
    assert dash.frame.empty
    assert dash.timeline.figure.x_range.start == datetime(2030, 2, 1)


def test_window_helpers() -> None:
    assert step("month", date(2030, 12, 15), 1) == date(2031, 1, 1)
    assert step("month", date(2030, 1, 15), -1) == date(2029, 12, 1)
    assert window_for("month", date(2030, 12, 31))[1] == datetime(2031, 1, 1, tzinfo=timezone.utc)


async def test_follow_from_the_cursor_before_the_load_misses_nothing(cal, act, users) -> None:
    """A booking committed after the page's first load but before it subscribed to the feed
    still reaches the page: the page follows from the cursor it read before loading."""
    dash = dashboard(cal, act, users["bob"])
    hub = act.feed
    await hub.start()
    since = hub.cursor
    task: asyncio.Future[None] | None = None
    try:
        booked = await asyncio.to_thread(cal.create, users["carol"],
                                         ReservationIn(site="mrc", start=at(2), end=at(3)))
        for _ in range(100):  # the hub has read it: a subscription at its cursor starts past it
            if hub.cursor > since:
                break
            await asyncio.sleep(0.05)
        assert hub.cursor > since
        task = asyncio.ensure_future(dash.follow(hub, since))
        for _ in range(100):  # bounded wait for the replay (not a timing assertion)
            if booked.id in dash.frame.index:
                break
            await asyncio.sleep(0.05)
        assert booked.id in dash.frame.index
    finally:
        if task is not None:
            task.cancel()
        await hub.stop()


async def test_follow_shows_other_peoples_bookings_live(cal, act, users) -> None:
    dash = dashboard(cal, act, users["bob"])
    hub = act.feed
    await hub.start()
    task = asyncio.ensure_future(dash.follow(hub))
    try:
        spec = ReservationIn(site="mrc", start=at(2), end=at(3))
        booked = await asyncio.to_thread(cal.create, users["carol"], spec)
        for _ in range(100):  # bounded wait for the feed to deliver (not a timing assertion)
            if booked.id in dash.frame.index:
                break
            await asyncio.sleep(0.05)
        assert booked.id in dash.frame.index
        assert not dash.frame.loc[booked.id, "editable"]
    finally:
        task.cancel()
        await hub.stop()
