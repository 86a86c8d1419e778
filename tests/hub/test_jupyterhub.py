"""The product under a real JupyterHub, on the suite's PostgreSQL, with two worker services.

What an observatory runs: each user logs in through the Hub and gets their own single-user
server (with the extension, API only: ``run_background = False``); identity and groups come
from the Hub; two ``jupyter astro-ops worker`` services (managed by the Hub) do the background
work for everyone, never the same piece twice; a user's server can be stopped (as the idle
culler does) while their staging job runs, and the job still finishes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from .hub import PROXY, Hub, HubUser, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

GROUPS = {"ops-leads": ["alice"], "arcops": ["obs1", "obs2"]}
ROLES = {"admin": ["group:ops-leads"], "stager": ["group:arcops"]}
SITES = {"saf": {"name": "Santa Fe", "timezone": "America/Denver"}}
FILES = 1201
NIGHT_BYTES = sum(2048 + i for i in range(FILES))
# the night job is capped to take about ten seconds however fast the disk is, so it is
# certainly still running when its owner's server is stopped
CAP = NIGHT_BYTES // 10
TERMINAL = ("succeeded", "failed", "cancelled")


def make_archive(top: Path) -> None:
    night = top / "night"
    for i in range(FILES):
        d = night / f"d{i % 12:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:04d}.fits").write_bytes(bytes([i % 251]) * (2048 + i))
    (top / "small").mkdir()
    (top / "small" / "bias.fits").write_bytes(b"SIMPLE  =                    T" + bytes(range(256)))


@pytest.fixture(scope="module")
def hub(pg_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    if pg_cluster is None:
        pytest.skip("PostgreSQL is not available")
    if not PROXY.exists():
        pytest.fail(f"configurable-http-proxy is missing ({PROXY}): run `make hub-proxy`")
    root = tmp_path_factory.mktemp("hub")
    make_archive(root / "archive")
    db_url = pg_cluster.url(pg_cluster.create_database(pg_cluster.template))
    hub = Hub(root, db_url, GROUPS, ROLES, workers=2, astro_config={
        "StagingService": {"roots": {"archive": {"url": f"file://{root / 'archive'}",
                                                 "roles": ["stager"]}},
                           "progress_interval": 0.2, "poll_interval": 0.5,
                           "max_bytes_per_second": CAP},
        "CalendarService": {"sites": SITES},
        "RequestWorker": {"poll_interval": 0.5},
    })
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()
    assert hub.server_errors() == [], "\n".join(hub.server_errors()[:20])


@pytest.fixture(scope="module")
def users(hub: Hub) -> dict[str, HubUser]:
    out = {name: hub.login(name) for name in ("obs1", "obs2", "alice")}
    for user in out.values():
        user.start_server()
    return out


def job_state(user: HubUser, job_id: str) -> dict[str, Any]:
    resp = user.api("GET", f"staging/jobs/{job_id}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_identity_and_groups_come_from_the_hub(users: dict[str, HubUser]) -> None:
    for name, user in users.items():
        me = user.api("GET", "me")
        assert me.status_code == 200, me.text
        body = me.json()
        assert body["username"] == name
        assert body["groups"] == sorted(g for g, members in GROUPS.items() if name in members)
    assert "admin" in users["alice"].api("GET", "me").json()["roles"]
    assert users["obs1"].api("GET", "me").json()["roles"] == ["stager"]
    # another user's server refuses this browser's login (the Hub's OAuth is per server)
    other = users["obs1"].session.get(users["obs2"].server_url + "astro-ops/api/v1/me",
                                      allow_redirects=False, timeout=60)
    assert other.status_code in (302, 403)


def test_two_users_share_the_calendar_but_not_their_jobs(users: dict[str, HubUser]) -> None:
    a, b = users["obs1"], users["obs2"]
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    booked = a.api("POST", "calendar/reservations", {
        "site": "saf", "start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat(),
        "title": "M31 run"})
    assert booked.status_code == 201, booked.text
    seen = b.api("GET", f"calendar/reservations/{booked.json()['id']}")
    assert seen.status_code == 200 and seen.json()["title"] == "M31 run"
    clash = b.api("POST", "calendar/reservations", {
        "site": "saf", "start": (start + timedelta(hours=1)).isoformat(),
        "end": (start + timedelta(hours=3)).isoformat()})
    assert clash.status_code == 409  # one database: no double booking across servers

    job = a.api("POST", "staging/jobs", {"source": {"root": "archive", "path": "small"},
                                         "target": "calib"})
    assert job.status_code == 202, job.text
    done = wait_until(lambda: (s := job_state(a, job.json()["id"]))["status"] in TERMINAL and s,
                      "the worker to run obs1's job")
    assert done["status"] == "succeeded", done
    assert (a.hub.homes / "obs1" / "calib" / "bias.fits").is_file()  # in obs1's home only
    assert not (a.hub.homes / "obs2" / "calib").exists()
    assert [j["id"] for j in b.api("GET", "staging/jobs").json()] == []
    assert b.api("GET", f"staging/jobs/{job.json()['id']}").status_code == 404


def test_an_admin_approves_in_a_third_server_and_a_worker_carries_it_out(
        users: dict[str, HubUser]) -> None:
    a, admin = users["obs1"], users["alice"]
    asked = a.api("POST", "activity", {"kind": "project.create", "name": "Hub Transits",
                                       "message": "for the spring run"})
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    pending = admin.api("GET", "requests").json()
    assert request_id in [r["id"] for r in pending]
    decided = admin.api("PUT", f"requests/{request_id}", {"decision": "approve"})
    assert decided.status_code == 200, decided.text

    def carried_out() -> dict[str, Any] | None:
        event = a.api("GET", f"activity/{request_id}").json()
        return event if event["status"] in ("SUCCESS", "ERROR", "DENIED") else None

    event = wait_until(carried_out, "a worker to carry out the approved request")
    assert event["status"] == "SUCCESS", event
    projects = a.api("GET", "projects").json()
    assert "Hub Transits" in [p["name"] for p in projects]


def test_a_job_finishes_after_its_owners_server_is_stopped(hub: Hub,
                                                           users: dict[str, HubUser]) -> None:
    a = users["obs2"]
    created = a.api("POST", "staging/jobs", {"source": {"root": "archive", "path": "night"},
                                             "target": "night"})
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    running = wait_until(lambda: (s := job_state(a, job_id))["status"] == "running"
                         and s["files_done"] > 0 and s, "the job to start copying")
    assert running["files_done"] < FILES
    hub.stop_server("obs2")  # as the idle culler would
    with create_engine(hub.db_url).connect() as conn:
        def finished() -> Any:
            row = conn.execute(text("SELECT status, files_done, files_total FROM staging_jobs "
                                    "WHERE id = :id"), {"id": job_id}).one()
            conn.rollback()
            return row if row.status in TERMINAL else None

        row = wait_until(finished, "the job to finish without its owner's server", timeout=300)
    assert (row.status, row.files_done, row.files_total) == ("succeeded", FILES, FILES)
    staged = hub.homes / "obs2" / "night"
    assert sum(1 for p in staged.rglob("*.fits")) == FILES
    a.start_server()  # logging back in shows the finished job
    assert job_state(a, job_id)["status"] == "succeeded"


def test_the_notebook_client_in_a_kernel_acts_as_its_user_without_a_token(
        users: dict[str, HubUser]) -> None:
    a = users["obs1"]
    with a.kernel() as kernel:
        out = kernel.execute(
            "import json, os\n"
            "from jupyter_astro_ops.client import AstroOps\n"
            "ops = AstroOps()\n"
            "print(json.dumps({'source': ops.server.source, 'user': ops.me()['identity']"
            "['username'], 'jobs': [j.id for j in ops.jobs()], 'pasted': 'ASTRO_OPS_TOKEN' in "
            "os.environ}))\n")
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["user"] == "obs1" and not seen["pasted"]
    own = [j["id"] for j in a.api("GET", "staging/jobs").json()]
    assert seen["jobs"] == own and own


def test_two_workers_never_did_the_same_work_twice(hub: Hub, users: dict[str, HubUser]) -> None:
    """Every job was started once (never "resumed" by a second worker), every request carried
    out once; both workers were alive (each holds its own lease owner id)."""
    with create_engine(hub.db_url).connect() as conn:
        jobs = conn.execute(text("SELECT log FROM activity_events "
                                 "WHERE object_type = 'STAGING_JOB'")).all()
        asked = conn.execute(text("SELECT status, attempts FROM activity_events "
                                  "WHERE object_type = 'PROJECT' AND action = 'REQ'")).all()
    assert len(jobs) >= 2 and asked
    for (log,) in jobs:
        messages = [entry.get("message") for entry in log or []]
        assert messages.count("started") == 1 and "resumed" not in messages, messages
    assert all(attempts == 1 for status, attempts in asked if status == "SUCCESS"), asked
    workers = [line for line in hub.log_text().splitlines() if "astro-ops worker" in line
               and "running the background work" in line]
    assert len(workers) >= 2, "both worker services should have started"
