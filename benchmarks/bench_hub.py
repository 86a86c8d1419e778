"""Scale figure of the JupyterHub deployment: N users on one PostgreSQL, and memory per user.

Starts what ``docs/deploy-jupyterhub.md`` describes, for real: a throwaway PostgreSQL, a
JupyterHub (``tests/hub/hub.py``: simple local spawner, dummy authenticator) with one
``jupyter astro-ops worker`` service and the dashboards' Hub service, and ``--users`` (50)
users, each logged in through the Hub with their own single-user server (API only). Every user
gets a Hub API token for their own server and, for ``--seconds`` (20), loops a mix through the
Hub's proxy as fast as the server answers:

* ``book``: a one-hour slot on one of two shared sites in the next 60 days (201, or 409 when
  somebody has it: both are answers, anything else is an error);
* ``job``: a small staging job (one file) into the user's home (202), run by the worker;
* ``activity``: ``GET activity?limit=20`` (the live feed's page).

The same load from one user (``--baseline-seconds``) is the baseline: the ratio says what
N users cost each operation. Afterwards, from the database: no two active reservations of a
site overlap; every job reached a terminal state (after a drain) and was started once, never
resumed; every error is counted. Memory: the resident set of each user server (with its
kernels: none) and of the dashboards' service, idle and with one open dashboard session per
user, so the per-user cost of one shared Panel service can be put beside a Panel process per
user server (the design this replaced: about 150 MB per user before any browser session).

    .venv/bin/python benchmarks/bench_hub.py [--users 50] [--seconds 20]

Needs PostgreSQL binaries and ``make hub-proxy``. Not a test: it prints figures and asserts
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from bench_api import pct
from sqlalchemy import create_engine, text

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.hub.hub import DASH, PROXY, Hub, HubUser, wait_until  # noqa: E402
from tests.pg import PgCluster  # noqa: E402

SITES = {"north": {"name": "North Dome", "timezone": "UTC"},
         "south": {"name": "South Dome", "timezone": "UTC"}}
MIX = (("book", 3), ("job", 2), ("activity", 5))
TERMINAL = ("succeeded", "failed", "cancelled")
MB = 1024 * 1024


def names(n: int) -> list[str]:
    return [f"user{i:03d}" for i in range(n)]


def make_hub(root: Path, db_url: str, users: list[str]) -> Hub:
    (root / "archive" / "small").mkdir(parents=True)
    (root / "archive" / "small" / "flat.fits").write_bytes(bytes(range(256)) * 64)
    return Hub(root, db_url, groups={"observers": users, "ops-leads": ["lead"]},
               roles={"admin": ["group:ops-leads"], "stager": ["group:observers"]},
               workers=1, dashboards=True, astro_config={
                   "StagingService": {"roots": {"archive": {
                       "url": f"file://{root / 'archive'}", "roles": ["stager"]}}},
                   "CalendarService": {"sites": SITES},
               })


def hub_token(hub: Hub, name: str) -> str:
    resp = hub.admin("POST", f"users/{name}/tokens", json={
        "note": "bench_hub", "expires_in": 3600,
        "scopes": [f"access:servers!user={name}"]})
    resp.raise_for_status()
    return str(resp.json()["token"])


async def one_user(session: aiohttp.ClientSession, hub: Hub, name: str, token: str,
                   until: float, samples: dict[str, list[float]], errors: list[str]) -> None:
    base = f"{hub.url}user/{name}/astro-ops/api/v1/"
    headers = {"Authorization": f"token {token}"}
    ops = [op for op, weight in MIX for _ in range(weight)]
    rng = random.Random(name)
    day0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    n = 0
    while time.monotonic() < until:
        op = rng.choice(ops)
        n += 1
        if op == "book":
            start = day0 + timedelta(hours=rng.randrange(24 * 60))
            call = session.post(base + "calendar/reservations", headers=headers, json={
                "site": rng.choice(list(SITES)), "start": start.isoformat(),
                "end": (start + timedelta(hours=1)).isoformat(), "title": f"{name} {n}"})
            ok: tuple[int, ...] = (201, 409)
        elif op == "job":
            call = session.post(base + "staging/jobs", headers=headers, json={
                "source": {"root": "archive", "path": "small"}, "target": f"bench/{n}"})
            ok = (202,)
        else:
            call = session.get(base + "activity?limit=20", headers=headers)
            ok = (200,)
        began = time.perf_counter()
        async with call as resp:
            await resp.read()
            took = time.perf_counter() - began
            if resp.status in ok:
                samples[op].append(took)
            else:
                errors.append(f"{op} {resp.status}")


async def load(hub: Hub, tokens: dict[str, str], seconds: float
               ) -> tuple[dict[str, list[float]], list[str], float]:
    samples: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=120)) as session:
        began = time.monotonic()
        until = began + seconds
        await asyncio.gather(*(one_user(session, hub, name, tok, until, samples, errors)
                               for name, tok in tokens.items()))
        return samples, errors, time.monotonic() - began


def ms(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (seconds) in milliseconds; 0 when nothing was timed."""
    return pct(values, q) * 1000 if values else 0.0


def invariants(db_url: str, timeout: float) -> dict[str, Any]:
    engine = create_engine(db_url)

    def pending() -> bool:
        with engine.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM staging_jobs WHERE status NOT IN "
                                     "('succeeded', 'failed', 'cancelled')")).scalar_one()
        return left == 0

    drained = time.monotonic()
    wait_until(pending, "every job to reach a terminal state", timeout=timeout, every=1.0)
    drained = time.monotonic() - drained
    with engine.connect() as conn:
        overlaps = conn.execute(text(
            "SELECT count(*) FROM calendar_reservations a JOIN calendar_reservations b "
            "ON a.site = b.site AND a.id < b.id AND a.start < b.\"end\" AND b.start < a.\"end\" "
            "WHERE a.status = 'active' AND b.status = 'active'")).scalar_one()
        booked = conn.execute(text("SELECT count(*) FROM calendar_reservations "
                                   "WHERE status = 'active'")).scalar_one()
        states = dict(conn.execute(text("SELECT status, count(*) FROM staging_jobs "
                                        "GROUP BY status")).all())
        logs = conn.execute(text("SELECT log FROM activity_events "
                                 "WHERE object_type = 'STAGING_JOB'")).all()
    twice = sum(1 for (log,) in logs
                if [e.get("message") for e in log or []].count("started") != 1
                or any(e.get("message") == "resumed" for e in log or []))
    engine.dispose()
    return {"overlapping reservations": overlaps, "reservations": booked,
            "jobs by state": states, "jobs not started exactly once": twice,
            "drain s": round(drained, 1)}


def rss_tree(proc: psutil.Process) -> int:
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):  # a child that just ended
            total += child.memory_info().rss
    return total


def processes(marker: str) -> list[psutil.Process]:
    out = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if marker in cmd:
            out.append(proc)
    return out


def memory(hub: Hub, users: list[HubUser]) -> dict[str, float]:
    servers = processes("jupyterhub-singleuser")
    dash = processes("hub_auth.py")  # panel serve with the Hub's auth module (exec'd)
    idle = sum(rss_tree(p) for p in dash)
    for user in users:  # one dashboard session per user, through the Hub's OAuth
        page = user.session.get(f"{hub.url}services/{DASH}/activity", timeout=120)
        page.raise_for_status()
    time.sleep(2.0)
    busy = sum(rss_tree(p) for p in dash)
    per_server = [rss_tree(p) for p in servers]
    return {"user servers": len(per_server),
            "user server MB (median)": statistics.median(per_server) / MB if per_server else 0,
            "dashboards service MB idle": idle / MB,
            f"dashboards service MB with {len(users)} sessions": busy / MB,
            "dashboards MB per session": (busy - idle) / MB / max(1, len(users))}


def report(rows: list[tuple[str, dict[str, list[float]], list[str], float, int]],
           checks: dict[str, Any], mem: dict[str, float]) -> None:
    print("\nload through the Hub's proxy (each user: their own server and token)")
    print(f"{'run':<10} {'users':>5} {'op':<9} {'n':>6} {'per s':>7} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'errors':>6}")
    figures: dict[tuple[str, str], tuple[float, float]] = {}
    for label, samples, errors, took, users in rows:
        for op, _ in MIX:
            values = samples.get(op, [])
            figures[(label, op)] = (len(values) / took, ms(values, 0.5))
            bad = sum(1 for e in errors if e.startswith(op))
            print(f"{label:<10} {users:>5} {op:<9} {len(values):>6} {len(values) / took:>7.1f} "
                  f"{ms(values, 0.5):>8.1f} {ms(values, 0.99):>8.1f} {bad:>6}")
    print("\nratio, N users / one user (throughput: higher is better; p50: lower is better)")
    for op, _ in MIX:
        (tn, pn), (t1, p1) = figures[("N users", op)], figures[("one user", op)]
        print(f"  {op:<9} throughput x{tn / t1 if t1 else 0:.2f}   p50 x{pn / p1 if p1 else 0:.2f}")
    print("\ninvariants (from the database, after the drain)")
    for key, value in checks.items():
        print(f"  {key}: {value}")
    print("\nmemory (resident set, process trees)")
    for key, value in mem.items():
        print(f"  {key}: {value:.0f}" if isinstance(value, float) else f"  {key}: {value}")
    if mem.get("user servers"):
        shared = mem["dashboards MB per session"] + mem["dashboards service MB idle"] / max(
            1, int(mem["user servers"]))
        print(f"  dashboards per user, shared service: {shared:.0f} MB "
              "(a Panel process per user server: about 150 MB before any session)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--spawn-batch", type=int, default=4,
                        help="user servers spawned at once (each start costs a core-second)")
    args = parser.parse_args()
    if not PROXY.exists():
        sys.exit(f"configurable-http-proxy is missing ({PROXY}): run `make hub-proxy`")
    cluster = PgCluster()
    cluster.start()
    try:
        with tempfile.TemporaryDirectory(prefix="astro-bench-hub-") as tmp:
            db_url = cluster.url(cluster.create_database())
            everyone = names(args.users)
            hub = make_hub(Path(tmp), db_url, everyone)
            hub.start()
            try:
                began = time.monotonic()
                logged = [hub.login(name) for name in everyone]
                for at in range(0, len(logged), args.spawn_batch):  # a few at a time: 2 cores
                    batch = logged[at:at + args.spawn_batch]
                    for user in batch:
                        user.session.get(hub.url + f"hub/spawn/{user.name}", timeout=120)
                    for user in batch:
                        user.start_server()
                print(f"{args.users} user servers started through the Hub in "
                      f"{time.monotonic() - began:.0f} s")
                tokens = {name: hub_token(hub, name) for name in everyone}
                first = everyone[0]
                one = asyncio.run(load(hub, {first: tokens[first]}, args.baseline_seconds))
                many = asyncio.run(load(hub, tokens, args.seconds))
                checks = invariants(db_url, args.drain_timeout)
                checks["server errors in the Hub's log"] = len(hub.server_errors())
                mem = memory(hub, logged[: min(10, len(logged))])
            finally:
                hub.stop()
    finally:
        cluster.stop()
    report([("one user", *one, 1), ("N users", *many, args.users)], checks, mem)


if __name__ == "__main__":
    main()
