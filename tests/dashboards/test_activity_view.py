"""The Activity Viewer on a real database (SQLite and PostgreSQL), no server, no browser."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

import pytest

from jupyter_astro_ops.activity.models import Project, ProjectMember
from jupyter_astro_ops.activity.schemas import EventFilter, RequestIn
from jupyter_astro_ops.activity.states import Status
from jupyter_astro_ops.compose import ActivityParts
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.identity import User
from jupyter_astro_ops.dashboards.activity_source import ActivitySource
from jupyter_astro_ops.dashboards.activity_view import ActivityDashboard

from ..conftest import make_services


@pytest.fixture
def act(db: Database) -> ActivityParts:
    return make_services(db, {"FeedHub": {"poll_interval": 0.2}}).activity


@pytest.fixture
def seeded(act: ActivityParts, users: dict[str, User]) -> dict[str, str]:
    """bob asks for a project (PENDING: needs an admin); carol records a plain event."""
    req = act.requests.create_request(users["bob"],
                                      RequestIn(kind="project.create", name="Deep Field"))
    with act.events.db.write() as session:
        row = act.events.record(session, users["carol"], action="ADD", object_type="RESOURCE",
                         object_id="ccd-7", data={"note": "new detector"}, message="added")
        carol_id = row.id
    return {"request": req.id, "carol": carol_id}


def dashboard(act: ActivityParts, user: User) -> ActivityDashboard:
    dash = ActivityDashboard(source=ActivitySource(act, user))
    dash.load()
    return dash


def select(dash: ActivityDashboard, event_id: str) -> None:
    dash._table.selection = [list(dash.frame.index).index(event_id)]


def test_admin_sees_every_event_newest_first(act, users, seeded) -> None:
    dash = dashboard(act, users["alice"])
    assert set(dash.frame.index) == {seeded["request"], seeded["carol"]}
    assert list(dash.frame["seq"]) == sorted(dash.frame["seq"], reverse=True)
    assert dash.pending == [seeded["request"]]
    assert dash._table.value is dash.frame  # the table shows the param


def test_users_see_only_their_own_events(act, users, seeded) -> None:
    dash = dashboard(act, users["bob"])
    assert list(dash.frame.index) == [seeded["request"]]
    assert dash.pending == []  # bob may not decide his own project.create


def test_filters(act, users, seeded) -> None:
    dash = dashboard(act, users["alice"])
    dash.status = ["PENDING"]
    assert list(dash.frame.index) == [seeded["request"]]
    dash.status = []
    dash.object_type = ["RESOURCE"]
    assert list(dash.frame.index) == [seeded["carol"]]
    dash.object_type = []
    dash.user = "bob"
    assert list(dash.frame.index) == [seeded["request"]]
    dash.action = ["ADD"]
    assert dash.frame.empty
    assert list(dash._table.value.index) == []


def test_details_show_the_log(act, users, seeded) -> None:
    dash = dashboard(act, users["alice"])
    select(dash, seeded["carol"])
    assert dash.selected == seeded["carol"]
    text = _text(dash.details())
    assert r"Added resource ccd\-7" in text and "added" in text  # escaped Markdown


def test_approve_button_decides_and_updates_the_table(act, users, seeded) -> None:
    dash = dashboard(act, users["alice"])
    select(dash, seeded["request"])
    assert "Decide this request" in _text(dash.details())
    dash.message = "welcome aboard"
    dash._approve.clicks += 1
    assert dash.frame.loc[seeded["request"], "status"] == "APPROVED"
    assert dash.pending == []
    stored = act.events.get_event(users["alice"], seeded["request"])
    assert stored.status.value == "APPROVED"
    assert stored.log[-1].message == "approved by alice: welcome aboard"
    assert dash.notice_kind == "success"
    assert dash.notice == "Approved the request of Bob: Request: create project Deep Field."
    assert "APPROVED" not in dash.notice  # the status would go stale; the details show it


def test_deny_is_refused_for_a_user_who_may_not_decide(act, users, seeded) -> None:
    dash = dashboard(act, users["bob"])
    select(dash, seeded["request"])
    dash._deny.clicks += 1
    assert dash.notice.startswith("Refused") and dash.notice_kind == "error"
    assert act.events.get_event(users["bob"], seeded["request"]).status.value == "PENDING"
    assert dash.frame.loc[seeded["request"], "status"] == "PENDING"


def test_apply_merges_new_and_changed_events(act, users, seeded) -> None:
    dash = dashboard(act, users["alice"])
    act.events.register_object_type("STAGING_JOB")
    with act.events.db.write() as session:
        act.events.record(session, users["dave"], action="ADD", object_type="STAGING_JOB",
                   object_id="j1", message="queued")
    new = act.pages.list_events(users["alice"], EventFilter(since=dash.cursor))
    dash.apply(new)
    assert len(dash.frame) == 3 and dash.frame.iloc[0]["object_type"] == "STAGING_JOB"
    assert dash.frame.iloc[0]["what"] == "Added staging job j1"
    assert "STAGING_JOB" in dash.param.object_type.objects
    dash.apply(new)  # replayed events are not duplicated
    assert len(dash.frame) == 3


def _text(view: Any) -> str:
    """Every text and table shown inside a layout, joined."""
    out: list[str] = []
    for obj in view.select():
        value = getattr(obj, "object", None)
        if isinstance(value, str):
            out.append(value)
        elif hasattr(value, "to_string"):
            out.append(value.to_string())
    return "\n".join(out)


async def test_follow_shows_new_events_from_the_feed(act, users, seeded) -> None:
    dash = dashboard(act, users["alice"])
    hub = act.feed
    await hub.start()
    task = asyncio.ensure_future(dash.follow(hub))
    try:
        await asyncio.to_thread(act.requests.create_request, users["carol"],
                                RequestIn(kind="project.create", name="Nova Watch"))
        for _ in range(100):  # bounded wait for the feed to deliver (not a timing assertion)
            if len(dash.frame) == 3:
                break
            await asyncio.sleep(0.05)
        assert len(dash.frame) == 3
        assert dash.frame.iloc[0]["user"] == "Carol"  # display name
        for _ in range(100):
            if len(dash.pending) == 2:
                break
            await asyncio.sleep(0.05)
        assert len(dash.pending) == 2  # the pending list followed the feed too
    finally:
        task.cancel()
        await hub.stop()


def test_selection_stays_on_the_event_when_rows_move(act, users, seeded) -> None:
    dash = dashboard(act, users["alice"])
    select(dash, seeded["carol"])
    before = dash._table.selection
    with act.events.db.write() as session:
        act.events.record(session, users["dave"], action="MOD", object_type="RESOURCE",
                   object_id="dome", message="closed")
    dash.apply(act.pages.list_events(users["alice"], EventFilter(since=dash.cursor)))
    assert dash.frame.index[0] != seeded["carol"]  # the new event is on top
    assert dash.selected == seeded["carol"]
    assert dash._table.selection == [before[0] + 1]
    assert dash.frame.index[dash._table.selection[0]] == seeded["carol"]


def test_an_overlong_message_is_refused_not_raised(act, users, seeded) -> None:
    dash = dashboard(act, users["alice"])
    select(dash, seeded["request"])
    dash.message = "x" * 2001
    dash._approve.clicks += 1
    assert dash.notice.startswith("Refused")
    assert act.events.get_event(users["alice"], seeded["request"]).status.value == "PENDING"


def test_rows_read_as_words_not_ids(act, db, users, seeded) -> None:
    """A join and a create read differently; project names, not ids; no NaN/None/True."""
    with db.write() as session:
        row = Project(name="Andromeda", description="", created_by="carol",
                      created=datetime.now(timezone.utc))
        session.add(row)
        session.flush()
        session.add(ProjectMember(project_id=row.id, username="carol", role="pi",
                                  added=row.created))
        pid = row.id
    join = act.requests.create_request(users["bob"], RequestIn(kind="project.join",
                                                                project_id=pid))
    dash = dashboard(act, users["alice"])
    assert dash.frame.loc[seeded["request"], "what"] == "Request: create project Deep Field"
    assert dash.frame.loc[join.id, "what"] == "Request: join project Andromeda"
    assert dash.frame.loc[join.id, "project"] == "Andromeda"
    assert dash.frame.loc[join.id, "user"] == "Bob"  # the login's display name
    assert dash.frame.loc[seeded["carol"], "project"] == "-"
    shown = dash.frame.drop(columns=["seq"]).astype(str).to_numpy().ravel()
    assert not {"nan", "NaN", "None", "True", "False"} & set(shown)
    assert not any(pid == value or join.id == value for value in shown)


def test_worker_lines_are_not_shown(act, users, seeded) -> None:
    with act.events.db.write() as session:
        row = act.events.record(session, users["carol"], action="MOD", object_type="RESOURCE",
                                object_id="dome", message="dome closed")
        act.events.transition(session, row, Status.RUNNING,
                              message="attempt 1 by worker vm:1234")
        rid = row.id
    dash = dashboard(act, users["alice"])
    assert dash.frame.loc[rid, "last_message"] == "dome closed"
    select(dash, rid)
    assert "attempt 1 by worker" not in _text(dash.details())


def test_a_filter_that_hides_the_selected_event_clears_the_details(act, users, seeded) -> None:
    dash = dashboard(act, users["alice"])
    select(dash, seeded["carol"])
    dash.decide("deny")  # refused: not a request
    assert dash.notice_kind == "error"
    dash.status = ["PENDING"]  # hides carol's event
    assert dash.selected is None
    assert "ccd-7" not in _text(dash.details())
    assert dash.notice == ""  # the refusal was about the hidden event


def test_an_empty_view_says_what_to_do(act, users, seeded) -> None:
    dash = dashboard(act, users["alice"])
    dash.action = ["DEL"]
    assert dash.frame.empty and not dash._view.showing_table
    assert "Clear a filter" in dash._view.empty.object
    dash.action = []
    assert dash._view.showing_table
