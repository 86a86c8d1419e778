"""The activity parts on SQLite and PostgreSQL: events, CAS, visibility, projects, requests."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from jupyter_astro_ops.activity.models import ActivityChange, ActivityEvent
from jupyter_astro_ops.activity.schemas import DecisionIn, EventFilter, RequestIn
from jupyter_astro_ops.activity.states import Status
from jupyter_astro_ops.core.errors import Conflict, Forbidden, NotFound, ValidationError

APPROVE = DecisionIn(decision="approve", message="welcome")
DENY = DecisionIn(decision="deny", message="no room")


def _record(act, user, **kw):
    with act.events.db.write() as s:
        return act.events.record(s, user, action="ADD", object_type="RESOURCE", **kw).id


# -- record / transition / note ----------------------------------------------------------------
def test_record_transition_note_grow_seq_and_log(act, users):
    eid = _record(act, users["bob"], object_id="r1", data={"a": 1})
    first = act.events.get_event(users["bob"], eid)
    assert first.status == Status.NEW and first.data == {"a": 1} and len(first.log) == 1
    with act.events.db.write() as s:
        row = s.get(ActivityEvent, eid)
        act.events.transition(s, row, "RUNNING", message="go")
        act.events.note(s, row, "half way", data={"b": 2})
    ev = act.events.get_event(users["bob"], eid)
    assert ev.status == Status.RUNNING and ev.previous_status == Status.NEW
    assert ev.seq > first.seq and ev.version > first.version
    assert ev.data == {"a": 1, "b": 2}
    assert [e.message for e in ev.log][-2:] == ["go", "half way"]
    assert act.events.latest_seq() == ev.seq
    # one journal row per write, each with the state it wrote; the event carries the last
    c = ActivityChange.__table__.c
    with act.events.db.read() as s:
        journal = s.execute(select(c.seq, c.status, c.at).where(c.event_id == eid)
                            .order_by(c.seq)).all()
    assert [j.status for j in journal] == ["NEW", "RUNNING", "RUNNING"]
    assert journal[0].seq == first.seq and journal[-1].seq == ev.seq
    assert journal[-1].at == ev.updated


def test_illegal_transition_conflicts_and_rolls_back(act, users):
    eid = _record(act, users["bob"])
    with pytest.raises(Conflict), act.events.db.write() as s:
        act.events.transition(s, s.get(ActivityEvent, eid), "SUCCESS", message="x")
        act.events.transition(s, s.get(ActivityEvent, eid), "RUNNING", message="y")
    assert act.events.get_event(users["bob"], eid).status == Status.NEW


def test_unknown_object_type_is_invalid(act, users):
    with pytest.raises(ValidationError), act.events.db.write() as s:
        act.events.record(s, users["bob"], action="ADD", object_type="NOPE")


def test_stale_version_conflicts(act, users, second_db):
    """Two sessions load the same version; the second write fails instead of overwriting."""
    eid = _record(act, users["bob"])
    with act.events.db.read() as s1:
        stale = s1.get(ActivityEvent, eid)
        s1.expunge(stale)
    with act.events.db.write() as s:
        act.events.transition(s, s.get(ActivityEvent, eid), "RUNNING", message="first")
    with pytest.raises(Conflict), second_db.write() as s2:
        row = s2.merge(stale, load=False)
        act.events.transition(s2, row, "ERROR", message="second, stale")
    ev = act.events.get_event(users["bob"], eid)
    assert ev.status == Status.RUNNING and "second, stale" not in [e.message for e in ev.log]


# -- visibility --------------------------------------------------------------------------------
def test_visibility_own_led_projects_admin(act, users, project):
    carol_ev = _record(act, users["carol"], project_id=project)
    dave_ev = _record(act, users["dave"])
    flt = EventFilter(object_type=["RESOURCE"])
    assert {e.id for e in act.pages.list_events(users["carol"], flt)} == {carol_ev}
    assert {e.id for e in act.pages.list_events(users["bob"], flt)} == {carol_ev}  # PI of project
    assert {e.id for e in act.pages.list_events(users["alice"], flt)} == {carol_ev, dave_ev}
    with pytest.raises(NotFound):
        act.events.get_event(users["carol"], dave_ev)


def test_filters_and_cursor(act, users):
    ids = [_record(act, users["bob"], object_id=f"o{i}") for i in range(5)]
    evs = act.pages.list_events(users["bob"], EventFilter(object_type=["RESOURCE"]))
    assert [e.id for e in evs] == ids
    after = act.pages.list_events(users["bob"], EventFilter(since=evs[2].seq, limit=10))
    assert [e.id for e in after] == ids[3:]
    assert [e.id for e in act.pages.list_events(users["bob"],
                                                EventFilter(object_id="o1"))] == [ids[1]]
    assert len(act.pages.list_events(users["bob"], EventFilter(limit=2))) == 2


def test_user_filter_for_another_user_is_forbidden(act, users):
    with pytest.raises(Forbidden):
        act.pages.list_events(users["bob"], EventFilter(user="carol"))
    assert act.pages.list_events(users["bob"], EventFilter(user="bob")) == []
    assert act.pages.list_events(users["alice"], EventFilter(user="carol")) == []


# -- projects ----------------------------------------------------------------------------------
def test_projects_and_members(act, users, project):
    with act.events.db.read() as s:
        assert act.projects.is_pi(s, "bob", project) and act.projects.is_member(s, "bob", project)
        assert not act.projects.is_member(s, "carol", project)
    with pytest.raises(Forbidden):
        act.projects.add_member(users["carol"], project, "carol")
    out = act.projects.add_member(users["bob"], project, "carol")
    assert {(m.username, m.role) for m in out.members} == {("bob", "pi"), ("carol", "member")}
    with act.events.db.read() as s:
        assert act.projects.is_member(s, "carol", project)
        assert not act.projects.is_pi(s, "carol", project)
    assert [p.name for p in act.projects.list_projects(users["dave"])] == ["Deep Field"]
    assert act.projects.get_project(users["dave"], project).created_by == "alice"
    with pytest.raises(NotFound):
        act.projects.get_project(users["dave"], 999)


def test_create_project_admin_only_unique_and_recorded(act, users, project):
    with pytest.raises(Forbidden):
        act.projects.create_project(users["bob"], "Mine")
    with pytest.raises(Conflict):
        act.projects.create_project(users["alice"], "Deep Field")
    evs = act.pages.list_events(users["alice"], EventFilter(object_type=["PROJECT"]))
    assert evs[0].action == "ADD" and evs[0].status == Status.SUCCESS
    assert evs[0].object.id == str(project)


# -- requests ----------------------------------------------------------------------------------
def test_join_request_is_pending_for_pi_and_approved(act, users, project):
    ev = act.requests.create_request(users["carol"],
                                     RequestIn(kind="project.join", project_id=project))
    assert ev.status == Status.PENDING and ev.action == "REQ" and ev.project_id == project
    assert [e.id for e in act.requests.pending_requests(users["bob"])] == [ev.id]
    assert [e.id for e in act.requests.pending_requests(users["alice"])] == [ev.id]
    assert act.requests.pending_requests(users["dave"]) == []
    with pytest.raises(Forbidden):
        act.requests.decide(users["carol"], ev.id, APPROVE)
    with pytest.raises(NotFound):  # dave cannot even see it
        act.requests.decide(users["dave"], ev.id, APPROVE)
    done = act.requests.decide(users["bob"], ev.id, APPROVE)
    assert done.status == Status.APPROVED and done.manager == "bob"
    assert "welcome" in done.log[-1].message
    with pytest.raises(Conflict):
        act.requests.decide(users["bob"], ev.id, DENY)
    assert act.requests.pending_requests(users["bob"]) == []


def test_privileged_requests_go_straight_to_waiting(act, users, project):
    admin = act.requests.create_request(users["alice"],
                                        RequestIn(kind="project.create", name="Halo"))
    assert admin.status == Status.WAITING
    assert [e.message for e in admin.log][-1].startswith("requester holds")


def test_create_request_needs_admin_decision(act, users, project):
    ev = act.requests.create_request(users["carol"], RequestIn(kind="project.create", name="Halo"))
    assert ev.status == Status.PENDING
    assert act.requests.pending_requests(users["bob"]) == []  # PIs do not decide creates
    with pytest.raises(Forbidden):
        act.requests.decide(users["carol"], ev.id, APPROVE)
    assert act.requests.decide(users["alice"], ev.id, DENY).status == Status.DENIED


def test_request_validation(act, users, project):
    carol = users["carol"]
    with pytest.raises(ValidationError):
        act.requests.create_request(carol, RequestIn(kind="project.join"))
    with pytest.raises(ValidationError):
        act.requests.create_request(carol, RequestIn(kind="project.join", project_id=999))
    with pytest.raises(Conflict):  # bob is already the PI
        act.requests.create_request(users["bob"],
                                    RequestIn(kind="project.join", project_id=project))
    with pytest.raises(ValidationError):
        act.requests.create_request(carol, RequestIn(kind="project.create"))
    with pytest.raises(Conflict):
        act.requests.create_request(carol, RequestIn(kind="project.create", name="Deep Field"))
    act.requests.create_request(carol, RequestIn(kind="project.join", project_id=project))
    with pytest.raises(Conflict):  # one open request at a time
        act.requests.create_request(carol, RequestIn(kind="project.join", project_id=project))


def test_parallel_deciders_one_wins(act, users, project, second_db):
    """Two deciders race (two engines = two processes): exactly one succeeds, the other 409s."""
    from ..conftest import make_services  # noqa: TID252

    other = make_services(second_db).activity
    ev = act.requests.create_request(users["carol"],
                                     RequestIn(kind="project.join", project_id=project))
    barrier = threading.Barrier(2)
    results: list[object] = []

    def decide(service, who, decision):
        barrier.wait()
        try:
            results.append(service.requests.decide(users[who], ev.id, decision).status)
        except Conflict as exc:
            results.append(exc)

    threads = [threading.Thread(target=decide, args=(act, "bob", APPROVE)),
               threading.Thread(target=decide, args=(other, "alice", DENY))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = [r for r in results if isinstance(r, Status)]
    assert len(statuses) == 1 and len([r for r in results if isinstance(r, Conflict)]) == 1
    final = act.events.get_event(users["alice"], ev.id)
    assert final.status == statuses[0]
    assert sum(1 for e in final.log if e.message.startswith(("approved", "denied"))) == 1


# -- append (the write-only form of record) ----------------------------------------------------
def test_append_writes_what_record_writes(act, users):
    kw = {"action": "ADD", "object_type": "RESOURCE", "object_id": "same", "data": {"a": 1},
          "status": "SUCCESS", "message": "done"}
    with act.events.db.write() as s:
        recorded = act.events.record(s, users["bob"], **kw).id
        appended = act.events.append(s, users["bob"], **kw)
    one, two = (act.events.get_event(users["bob"], e) for e in (recorded, appended))
    assert two.seq > one.seq > 0 and act.events.latest_seq() == two.seq
    skip = {"id", "seq", "created", "updated", "log"}
    assert one.model_dump(exclude=skip) == two.model_dump(exclude=skip)  # version too
    assert [e.message for e in one.log] == [e.message for e in two.log] == ["done"]
    with act.events.db.write() as s:  # an appended event moves on like any other
        act.events.note(s, s.get(ActivityEvent, appended), "later")
    assert act.events.get_event(users["bob"], appended).seq > two.seq


def test_append_stores_the_columns_record_stores(act, users):
    """Column by column, as stored (the driver path binds each value through its column type),
    with one journal row per event carrying the event's seq, status and time."""
    kw = {"action": "ADD", "object_type": "RESOURCE", "object_id": "cols", "data": {"a": [1]},
          "status": "SUCCESS", "project_id": 7, "message": "done"}
    with act.events.db.write() as s:
        ids = [act.events.record(s, users["bob"], **kw).id,
               act.events.append(s, users["bob"], **kw), act.events.append(s, "system", **kw)]
    events, changes = ActivityEvent.__table__, ActivityChange.__table__
    with act.events.db.read() as s:
        rows = {r.id: r._asdict() for r in s.execute(select(*events.c).where(
            events.c.id.in_(ids)))}
        journal = {r.event_id: r._asdict() for r in s.execute(select(*changes.c).where(
            changes.c.event_id.in_(ids)))}
    recorded, appended, system = (rows[i] for i in ids)
    assert recorded["seq"] < appended["seq"] < system["seq"]
    skip = {"id", "seq", "created", "updated", "log"}
    assert {k: v for k, v in recorded.items() if k not in skip} == {
        k: v for k, v in appended.items() if k not in skip}
    assert (system["username"], system["user_name"]) == ("system", "")
    for row in rows.values():
        assert row["created"] == row["updated"] and row["created"].tzinfo is not None
        assert [e["message"] for e in row["log"]] == ["done"] and row["version"] == 2
        assert journal[row["id"]] == {"seq": row["seq"], "event_id": row["id"],
                                      "status": "SUCCESS", "at": row["updated"]}


def test_wakeups_after_holds_listener_calls_until_the_block_ends(act, users):
    """Commits inside the block (worker threads started with asyncio.to_thread included) call
    the listeners once, when it ends, even when it fails; commits outside are not held."""
    import asyncio

    woken = []
    act.events.add_listener(woken.append)

    def write(object_type):
        with act.events.db.write() as s:
            act.events.append(s, users["bob"], action="ADD", object_type=object_type)

    async def handler():
        with act.events.wakeups_after():
            await asyncio.to_thread(write, "RESOURCE")
            await asyncio.to_thread(write, "SLICE")
            assert woken == []  # committed, the response would be written now
        assert woken == [frozenset({"RESOURCE", "SLICE"})]

    asyncio.run(handler())
    with pytest.raises(RuntimeError), act.events.wakeups_after():
        write("USER")
        raise RuntimeError("the reply failed")
    assert woken[-1] == frozenset({"USER"})
    write("PROJECT")
    assert woken[-1] == frozenset({"PROJECT"}) and len(woken) == 3


def test_append_wakes_listeners_at_commit_and_not_on_rollback(act, users):
    woken = []
    act.events.add_listener(woken.append)
    with act.events.db.write() as s:
        act.events.append(s, users["bob"], action="ADD", object_type="RESOURCE")
        assert woken == []
    assert woken == [frozenset({"RESOURCE"})]
    with pytest.raises(RuntimeError), act.events.db.write() as s:
        eid = act.events.append(s, users["bob"], action="ADD", object_type="RESOURCE")
        raise RuntimeError("roll back")
    assert woken == [frozenset({"RESOURCE"})]
    with pytest.raises(NotFound):
        act.events.get_event(users["alice"], eid)
    with pytest.raises(ValidationError), act.events.db.write() as s:
        act.events.append(s, users["bob"], action="ADD", object_type="NOPE")
