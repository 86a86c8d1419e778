"""Ocat benchmark: the status board over 50,000 revisions, and express approval of 500 obsids.

Bulk-loads ``--observations`` observations and ``--revisions`` revisions (five sign-off rows
each; ``--open`` of them open, ``--recent`` closed in the last 36 hours, the rest closed long
ago), then measures

* ``OcatService.board`` in-process (p50/p99) beside a plain indexed read of the same rows
  (the revisions on the board joined to their observations, and their sign-offs, through the
  same indexes, no ORM, no wire models): the ratio is board / plain read;
* ``GET ocat/board`` in a real ``jupyter server --allow-root``: tornado's request time inside
  the server (``bench_calendar_ext``'s hook), p50/p99, and the round trip;
* ``POST ocat/express`` approving 500 fresh obsids (``--express-runs`` times), wall time,
  beside the in-process dry run of the same list.

    .venv/bin/python benchmarks/bench_ocat.py [--revisions 50000] [--postgres] [--profile]

``--profile`` prints the top of a cProfile of one board read and one express commit. Not a
test: it prints figures and asserts nothing. Aims: board p50 <= 50 ms, express of 500 <= 2 s.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import pstats
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import bench_api
from bench_api import free_port, pct, start_server, stop_server
from sqlalchemy import insert, select, text
from traitlets.config import Config, Configurable

from jupyter_astro_ops.compose import build_services
from jupyter_astro_ops.core import migrate
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.identity import RoleMap
from jupyter_astro_ops.ocat.models import (
    OcatObservation,
    OcatRevision,
    OcatSignoff,
)
from jupyter_astro_ops.ocat.schemas import ExpressIn

TOKEN = bench_api.TOKEN  # bench_api maps it to the admin "alice"
STATS = "/bench/calendar-stats"
COLUMNS = ("general", "acis", "acis_si", "hrc_si", "usint_verification")
NOW = datetime.now(timezone.utc)


def load(db_url: str, args: argparse.Namespace) -> float:
    """Migrate and bulk-insert observations, revisions and sign-offs; seconds taken."""
    migrate.upgrade(db_url)
    db = Database(db_url)
    rng = random.Random(3)
    started = time.perf_counter()
    try:
        n_obs = args.observations + args.express_runs * 500
        observations = [{
            "obsid": 100000 + i, "seq_nbr": f"{700000 + i}", "target_name": f"Bench {i}",
            "instrument": "ACIS-S", "grating": "NONE", "obs_type": "GO",
            "status": "unobserved", "poc": "alice", "planned_date": NOW + timedelta(days=90),
            "ra": 10.0, "dec": 20.0, "roll": 30.0, "or_list": False,
            "values": {"si_mode": "TE_0001", "ra": 10.0, "dec": 20.0, "roll_obsr": 30.0,
                       "instrument": "ACIS-S", "most_efficient": "Y"},
            "digest": "", "last_rev": 0, "updated": NOW} for i in range(n_obs)]
        revisions, signoffs = [], []
        last_rev = dict.fromkeys(range(args.observations), 0)
        for rid in range(1, args.revisions + 1):
            o = rng.randrange(args.observations)
            last_rev[o] += 1
            # in time order: the newest are open, the ones before closed in the last 36 h
            age = args.revisions - rid  # how many revisions came after this one
            if age < args.open:
                state, closed = "open", None
            elif age < args.open + args.recent:
                state, closed = "closed", NOW - timedelta(hours=rng.uniform(0, 35))
            else:
                state, closed = "closed", NOW - timedelta(days=2 + age * 900 / args.revisions)
            submitted = (closed or NOW) - timedelta(days=rng.uniform(0.1, 5))
            revisions.append({
                "id": rid, "obsid": 100000 + o, "rev": last_rev[o], "kind": "norm",
                "submitter": f"poc{rid % 7}", "submitted": submitted,
                "comment": "bench", "original": {"roll_obsr": 30.0},
                "requested": {"roll_obsr": 31.0}, "flags": ["comment"] if rid % 5 else [],
                "warnings": [], "state": state, "closed_at": closed, "superseded_by": None,
                "version": 2, "summary": {}})
            for column in COLUMNS:
                pending = state == "open" and column in ("general", "usint_verification")
                status = "pending" if pending else (
                    "signed" if column in ("general", "usint_verification") else "not_required")
                signoffs.append({"revision_id": rid, "column": column, "status": status,
                                 "signer": None if status != "signed" else "arc",
                                 "signed_at": None if status != "signed" else closed,
                                 "note": "", "pending_since": submitted if pending else None})
                revisions[-1]["summary"][column] = {
                    "status": status, "signer": signoffs[-1]["signer"], "note": "",
                    "signed_at": closed.isoformat() if status == "signed" and closed else None}
        for o, rev in last_rev.items():
            observations[o]["last_rev"] = rev
        with db.write() as session:
            for table, rows in ((OcatObservation, observations), (OcatRevision, revisions),
                                (OcatSignoff, signoffs)):
                for start in range(0, len(rows), 5000):
                    session.execute(insert(table), rows[start:start + 5000])
        with db.engine.connect() as conn:
            if db.dialect == "postgresql":  # the ids were given: move the sequence past them
                conn.execute(text("SELECT setval(pg_get_serial_sequence('ocat_revisions', "
                                  "'id'), (SELECT max(id) FROM ocat_revisions))"))
            conn.execute(text("ANALYZE"))
            conn.commit()
    finally:
        db.dispose()
    return time.perf_counter() - started


def plain_read(db: Database, cutoff: datetime) -> int:
    """The board's rows read the plainest way: the same indexed statements, tuples only."""
    rev = OcatRevision.__table__
    base = select(rev.c.id, rev.c.obsid, rev.c.rev, rev.c.kind, rev.c.submitter,
                  rev.c.submitted, rev.c.state, rev.c.closed_at, rev.c.version, rev.c.flags,
                  rev.c.summary, OcatObservation.target_name).join(
        OcatObservation, OcatObservation.obsid == rev.c.obsid)
    with db.engine.connect() as conn:
        rows = conn.execute(base.where(rev.c.state == "open")).all()
        rows += conn.execute(base.where(rev.c.closed_at >= cutoff,
                                        rev.c.state != "open")).all()
    return len(rows)


def timed(fn: Any, runs: int, cpu: list[float] | None = None) -> list[float]:
    """Wall times in ms (and this process's CPU times into ``cpu``: the machine is shared,
    so wall time includes waiting for a core)."""
    out = []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - c0) * 1000)
    return out


def profile(fn: Any, label: str) -> None:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(18)
    print(f"\n--- profile: {label} ---")
    print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))


def in_process(db_url: str, args: argparse.Namespace) -> dict[str, Any]:
    db = Database(db_url)
    try:
        services = build_services(Configurable(config=Config({})), db,
                                  roles={"admin": ["group:ops-leads"]})
        svc = services.ocat.service
        user = RoleMap({"admin": ["group:ops-leads"]}).resolve("alice", "Alice", ["ops-leads"])
        rows = len(svc.board(user))
        cutoff = NOW - timedelta(hours=36)
        timed(lambda: svc.board(user), 3)
        board_cpu: list[float] = []
        plain_cpu: list[float] = []
        board = timed(lambda: svc.board(user), args.runs, board_cpu)
        plain = timed(lambda: plain_read(db, cutoff), args.runs, plain_cpu)
        first = 100000 + args.observations
        dry = timed(lambda: svc.express(user, ExpressIn(obsids=f"{first}-{first + 499}")), 3)
        if args.profile:
            profile(lambda: svc.board(user), "OcatService.board")
            spare = first + (args.express_runs - 1) * 500
            profile(lambda: svc.express(user, ExpressIn(obsids=f"{spare}-{spare + 499}",
                                                        dry_run=False)),
                    "OcatService.express (commit of 500)")
        return {"rows": rows, "board": board, "plain": plain, "dry": dry,
                "board_cpu": board_cpu, "plain_cpu": plain_cpu}
    finally:
        db.dispose()


def over_http(workdir: Path, db_url: str, args: argparse.Namespace) -> dict[str, Any]:
    bench_api.write_config(workdir / "config", db_url, ("bench_calendar_ext",),
                           {"AstroOpsApp": {"db_url": db_url, "run_background": False,
                                            "roles": {"admin": ["group:ops-leads"]}}})
    port = free_port()
    proc = start_server(workdir, port)
    path = "/astro-ops/api/v1/ocat/board"
    try:
        bench_api.wait_ready(port, proc, timeout=120, paths=(bench_api.BARE, path))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"token {TOKEN}", "Content-Type": "application/json"}

        def call(method: str, url: str, body: dict[str, Any] | None = None) -> bytes:
            conn.request(method, url, body=json.dumps(body) if body else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{method} {url} -> {resp.status}: {data[:300]!r}")
            return data

        for _ in range(3):
            call("GET", path)
        call("GET", f"{STATS}?reset=1")
        client = timed(lambda: call("GET", path), args.runs)
        server = json.loads(call("GET", f"{STATS}?reset=1")).get(f"GET {path}", [])
        express = []
        skip = 1 if args.profile else 0  # the profiled run used the last list
        for run in range(args.express_runs - skip):
            first = 100000 + args.observations + run * 500
            body = {"obsids": f"{first}-{first + 499}", "dry_run": False}
            t0 = time.perf_counter()
            answer = json.loads(call("POST", "/astro-ops/api/v1/ocat/express", body))
            express.append(time.perf_counter() - t0)
            assert len(answer["approved"]) == 500, answer["skipped"]
        conn.close()
        return {"client": client, "server": server, "express": express}
    finally:
        stop_server(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--observations", type=int, default=10_000)
    parser.add_argument("--revisions", type=int, default=50_000)
    parser.add_argument("--open", type=int, default=1_000)
    parser.add_argument("--recent", type=int, default=300)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--express-runs", type=int, default=3)
    parser.add_argument("--postgres", action="store_true",
                        help="use a throwaway PostgreSQL cluster (tests/pg.py)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="astro-bench-ocat-") as tmp, \
            bench_api.bench_db(Path(tmp), args.postgres) as db_url:
        workdir = Path(tmp)
        took = load(db_url, args)
        backend = db_url.split(":", 1)[0].split("+", 1)[0]
        print(f"loaded {args.revisions:,} revisions ({args.open} open, {args.recent} "
              f"closed in the last 36 h) of {args.observations:,} observations into "
              f"{backend} in {took:.1f} s")
        local = in_process(db_url, args)
        remote = over_http(workdir, db_url, args)
    report(local, remote)


def report(local: dict[str, Any], remote: dict[str, Any]) -> None:
    b50, b99 = pct(local["board"], 0.5), pct(local["board"], 0.99)
    p50, p99 = pct(local["plain"], 0.5), pct(local["plain"], 0.99)
    s50, s99 = pct(remote["server"], 0.5), pct(remote["server"], 0.99)
    print(f"\nstatus board: {local['rows']} rows")
    print(f"{'':34s} {'p50 ms':>8s} {'p99 ms':>8s} {'ratio':>6s}")
    print(f"{'plain indexed read (baseline)':34s} {p50:8.2f} {p99:8.2f} {1.0:6.2f}")
    print(f"{'OcatService.board (in-process)':34s} {b50:8.2f} {b99:8.2f} {b50 / p50:6.2f}")
    print(f"{'GET ocat/board (server-side)':34s} {s50:8.2f} {s99:8.2f} {s50 / p50:6.2f}")
    c50, pc50 = pct(local["board_cpu"], 0.5), pct(local["plain_cpu"], 0.5)
    print(f"{'  CPU only: plain / board':34s} {pc50:8.2f} {c50:8.2f} {c50 / pc50:6.2f}")
    print(f"{'GET ocat/board (round trip)':34s} {pct(remote['client'], 0.5):8.2f} "
          f"{pct(remote['client'], 0.99):8.2f} {pct(remote['client'], 0.5) / p50:6.2f}")
    dry = statistics.median(local["dry"]) / 1000
    print(f"\nexpress approval of 500 obsids: dry run (in-process) {dry:.2f} s; commit over "
          "REST " + ", ".join(f"{x:.2f} s" for x in remote["express"])
          + f" (median {statistics.median(remote['express']):.2f} s, "
          f"ratio to the dry run {statistics.median(remote['express']) / dry:.1f})")
    print("\naims: board p50 <= 50 ms, express of 500 <= 2 s")


if __name__ == "__main__":
    main()
