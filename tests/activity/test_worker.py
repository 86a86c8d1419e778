"""The request worker: carries requests out once, retries crashed work, never leaves one stuck."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import update

from jupyter_astro_ops.activity.models import ActivityEvent
from jupyter_astro_ops.activity.requests import Requests
from jupyter_astro_ops.activity.schemas import DecisionIn, RequestIn
from jupyter_astro_ops.activity.states import Status
from jupyter_astro_ops.core.timeutil import utcnow

from ..conftest import make_services
from .conftest import WORKER, new_worker

APPROVE = DecisionIn(decision="approve")


def _approved_join(act, users, project):
    ev = act.requests.create_request(users["carol"],
                                     RequestIn(kind="project.join", project_id=project))
    return act.requests.decide(users["bob"], ev.id, APPROVE).id


def _members(act, users, project):
    return {m.username for m in act.projects.get_project(users["alice"], project).members}


def test_approved_join_is_carried_out(act, users, project):
    eid = _approved_join(act, users, project)
    assert new_worker(act).run_once() == 1
    ev = act.events.get_event(users["carol"], eid)
    assert ev.status == Status.SUCCESS and "joined" in ev.log[-1].message
    assert "carol" in _members(act, users, project)
    assert new_worker(act).run_once() == 0  # nothing left, nothing done twice


def test_waiting_create_makes_requester_pi(act, users):
    ev = act.requests.create_request(users["alice"], RequestIn(kind="project.create", name="Halo"))
    new_worker(act).run_once()
    done = act.events.get_event(users["alice"], ev.id)
    assert done.status == Status.SUCCESS and done.project_id is not None
    project = act.projects.get_project(users["alice"], done.project_id)
    assert project.name == "Halo" and [(m.username, m.role) for m in project.members] == [
        ("alice", "pi")]


def test_dead_worker_claim_is_retried_and_finishes(act, users, project):
    eid = _approved_join(act, users, project)
    dead = new_worker(act)
    claim = dead.claim()  # ...and the worker "dies" here: never executes
    assert claim is not None and claim.attempts == 1
    assert act.events.get_event(users["carol"], eid).status == Status.RUNNING
    alive = new_worker(act)
    assert alive.sweep() == 0  # the lease still runs
    later = utcnow() + timedelta(seconds=act.worker.lease_seconds + 1)
    assert alive.sweep(now=later) == 1
    ev = act.events.get_event(users["carol"], eid)
    assert ev.status == Status.WAITING and "lease expired" in ev.log[-1].message
    assert alive.run_once() == 1
    ev = act.events.get_event(users["carol"], eid)
    assert ev.status == Status.SUCCESS and "carol" in _members(act, users, project)
    assert dead.execute(claim) is None  # the zombie wakes up: its claim is void, no effect
    assert act.events.get_event(users["carol"], eid).status == Status.SUCCESS


def test_after_max_attempts_the_event_is_error_with_a_log_line(act, users, project):
    eid = _approved_join(act, users, project)
    worker = new_worker(act)
    now = utcnow()
    for _ in range(act.worker.max_attempts):
        assert worker.claim(now=now) is not None  # claimed, then crashed every time
        now += timedelta(seconds=act.worker.lease_seconds + 1)
        worker.sweep(now=now)
    ev = act.events.get_event(users["carol"], eid)
    assert ev.status == Status.ERROR and ev.log[-1].level == "error"
    assert f"after {act.worker.max_attempts} attempt" in ev.log[-1].message
    assert "carol" not in _members(act, users, project)


class FlakyRequests(Requests):
    """The real requests part, whose carrying-out raises an unexpected error ``fail`` times."""

    fail = 0

    def carry_out(self, session, row):
        if self.fail > 0:
            self.fail -= 1
            raise OSError("disk on fire")
        return super().carry_out(session, row)


def test_failures_retry_then_error(db, users, project):
    config = {"RequestWorker": {**WORKER["RequestWorker"], "max_attempts": 2},
              "Wiring": {"requests_class": FlakyRequests}}
    act = make_services(db, config).activity
    assert isinstance(act.requests, FlakyRequests)  # c.Wiring.requests_class is honoured
    act.requests.fail = 1
    eid = _approved_join(act, users, project)
    worker = new_worker(act)
    assert worker.execute(worker.claim()) == Status.WAITING
    assert "disk on fire" in act.events.get_event(users["carol"], eid).log[-1].message
    assert worker.execute(worker.claim()) == Status.SUCCESS
    act.requests.fail = 5
    eid2 = act.requests.create_request(users["alice"],
                                       RequestIn(kind="project.create", name="X1")).id
    assert worker.execute(worker.claim()) == Status.WAITING
    assert worker.execute(worker.claim()) == Status.ERROR
    assert act.events.get_event(users["alice"], eid2).log[-1].level == "error"


def test_impossible_request_fails_at_once(act, users, project):
    eid = _approved_join(act, users, project)
    act.projects.add_member(users["bob"], project, "carol")  # joined meanwhile by another route
    worker = new_worker(act)
    assert worker.execute(worker.claim()) == Status.ERROR
    assert "already a member" in act.events.get_event(users["carol"], eid).log[-1].message


def test_abandoned_new_event_is_routed(act, users, project):
    with act.events.db.write() as s:  # a crash between the insert and the routing
        row = act.events.record(s, users["carol"], action="REQ", object_type="PROJECT",
                                project_id=project,
                                data={"kind": "project.join", "project_id": project})
        eid = row.id
    worker = new_worker(act)
    assert worker.sweep() == 0  # within the grace period
    with act.events.db.write() as s:
        s.execute(update(ActivityEvent).where(ActivityEvent.id == eid).values(
            created=utcnow() - timedelta(seconds=act.worker.new_grace_seconds + 1)))
    assert worker.sweep() == 1
    ev = act.events.get_event(users["carol"], eid)
    assert ev.status == Status.PENDING and ev.previous_status == Status.NEW


def test_two_workers_never_run_one_event(act, users, project, second_db):
    """Workers in two 'processes' race for the same events; each runs exactly once."""
    eids = [act.requests.create_request(users["alice"],
                                        RequestIn(kind="project.create", name=f"P{i}")).id
            for i in range(6)]
    other = make_services(second_db, WORKER).activity
    workers = [new_worker(act), new_worker(other)]
    barrier = threading.Barrier(2)
    claims: list[list] = [[], []]

    def run(i):
        barrier.wait()
        while (claim := workers[i].claim()) is not None:
            claims[i].append(claim.event_id)
            workers[i].execute(claim)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ran = claims[0] + claims[1]
    assert sorted(ran) == sorted(eids)  # every event claimed once, none twice
    for eid in eids:
        ev = act.events.get_event(users["alice"], eid)
        assert ev.status == Status.SUCCESS
        assert sum(1 for e in ev.log if e.message.startswith("attempt")) == 1
    assert len(act.projects.list_projects(users["alice"])) == 7


async def test_worker_loop_runs_in_the_background(act, users, project):
    import asyncio

    await act.worker.start()
    try:
        eid = _approved_join(act, users, project)  # the commit wakes the worker
        for _ in range(200):
            if act.events.get_event(users["carol"], eid).status == Status.SUCCESS:
                break
            await asyncio.sleep(0.05)
        assert act.events.get_event(users["carol"], eid).status == Status.SUCCESS
    finally:
        await act.worker.stop()


async def test_the_loop_recovers_a_claim_whose_worker_died(act, users, project):
    """The sweep runs inside the worker's own loop: an event claimed by a worker that died
    (claimed, never executed, lease run out) is retried and finishes without anyone calling
    sweep() by hand."""
    import asyncio

    eid = _approved_join(act, users, project)
    dead = new_worker(act, lease_seconds=0.3)
    assert dead.claim() is not None  # ...and this worker's process dies here
    assert act.events.get_event(users["carol"], eid).status == Status.RUNNING
    alive = new_worker(act, sweep_interval=0.1, poll_interval=0.1)
    await alive.start()
    try:
        for _ in range(400):  # bounded wait for the loop (no timing assertion)
            if act.events.get_event(users["carol"], eid).status == Status.SUCCESS:
                break
            await asyncio.sleep(0.05)
    finally:
        await alive.stop()
    ev = act.events.get_event(users["carol"], eid)
    assert ev.status == Status.SUCCESS
    assert any("lease expired" in entry.message for entry in ev.log)
