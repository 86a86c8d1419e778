"""Calendar benchmark: one-week window queries and bookings on 1,000,000 reservations.

Bulk-loads ``--rows`` reservations over ``--sites`` sites (SQLite ``executemany`` or PostgreSQL
``COPY``; per site one booking of 1-3 h every 3-9 h, so a one-week window holds ~28), starts a
real ``jupyter server --allow-root`` with the extension, the bare constant ``APIHandler`` of
``bench_bare_ext.py`` and the timing hook of ``bench_calendar_ext.py``, then runs keep-alive
clients against:

* ``GET calendar/reservations?site=&start=&end=`` for a random one-week window;
* ``POST calendar/reservations`` (a booking with its conflict check and activity event);
* the bare handler (the baseline).

It prints the server-side p50/p99 (tornado's request time, measured inside the server), the
client-side p50, requests/s and its ratio to the bare handler, plus the window query's plan.

    .venv/bin/python benchmarks/bench_calendar.py [--rows 1000000] [--sites 20]
        [--clients 4] [--seconds 8] [--repeat 3] [--quick] [--postgres | --db-url URL]
        [--switch-interval 0.0005] [--profile DIR] [--only booking]

The server answers window reads from its in-memory reservation index once that is built; the
script waits for it (``/bench/calendar-index``) and prints how long the rebuild took.
``--profile DIR`` samples the server with py-spy during each one-client latency run.
``--only WORD`` (repeatable) keeps the scenarios whose name contains WORD, and the bare handler
they are compared with (``--only booking``: a quicker loop while working on bookings).
Not a test: it prints figures and asserts nothing. Aims (issue 13): GET one week ratio >= 0.5,
booking ratio >= 0.2 with p50 <= 2 ms.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import bench_api
import profiling
from bench_api import BARE, free_port, pct, start_server, stop_server
from sqlalchemy import text

from jupyter_astro_ops.core import migrate
from jupyter_astro_ops.core.db import Database

HERE = Path(__file__).resolve().parent
TOKEN = bench_api.TOKEN  # the token bench_api.write_config maps to the admin
API = "/astro-ops/api/v1/calendar"
STATS = "/bench/calendar-stats"
INDEX = "/bench/calendar-index"
BASE = datetime(2000, 1, 1, tzinfo=timezone.utc)
COLUMNS = ("id", "site", "start", "end", "title", "type", "origin", "external_id", "creator_id",
           "creator_name", "project_id", "note", "status", "sequence", "version", "created",
           "modified", "cancelled_at")
SQLITE_TS = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format of DateTime on SQLite


def site_codes(n: int) -> list[str]:
    return [f"s{i:02d}" for i in range(n)]


def generate(sites: list[str], rows: int, seed: int = 1) -> Any:
    """Yield reservation tuples; per site, non-overlapping, a start every 3-9 h."""
    rng = random.Random(seed)
    per_site = rows // len(sites)
    users = [f"obs{i:03d}" for i in range(200)]
    for s_index, site in enumerate(sites):
        t = BASE
        for i in range(per_site):
            t += timedelta(hours=rng.uniform(3, 9))
            end = t + timedelta(hours=rng.uniform(1, 3))
            user = users[(i * 7 + s_index) % len(users)]
            rid = f"{s_index:04x}{i:028x}"
            yield (rid, site, t, end, user, "realtime", "ptr", None, user, user.title(), None,
                   "", "active", 0, 1, t, t, None)
            t = end


def last_end(sites: list[str], rows: int) -> datetime:
    return max(r[3] for r in generate(sites[-1:], rows // len(sites)))


def load(db_url: str, sites: list[str], rows: int) -> float:
    """Migrate, create the sites and bulk-insert the reservations; returns seconds taken."""
    migrate.upgrade(db_url)
    db = Database(db_url)
    started = time.perf_counter()
    try:
        with db.write() as session:
            for code in sites:
                session.execute(text(
                    "INSERT INTO calendar_sites (code, name, timezone, max_span_s, created_by, "
                    "created) VALUES (:c, :n, 'UTC', :span, 'bench', :t)"),
                    {"c": code, "n": f"Site {code}", "span": 3 * 3600 + 1, "t": BASE})
        raw = db.engine.raw_connection()
        try:
            if db.dialect == "sqlite":
                _load_sqlite(raw, sites, rows)
            else:
                _load_postgres(raw, sites, rows)
            raw.commit()
        finally:
            raw.close()
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    finally:
        db.dispose()
    return time.perf_counter() - started


def _load_sqlite(raw: Any, sites: list[str], rows: int) -> None:
    cur = raw.cursor()
    cur.execute("BEGIN")
    marks = ", ".join("?" for _ in COLUMNS)
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    batch: list[tuple[Any, ...]] = []
    for row in generate(sites, rows):
        batch.append(tuple(v.astimezone(timezone.utc).replace(tzinfo=None).strftime(SQLITE_TS)
                           if isinstance(v, datetime) else v for v in row))
        if len(batch) == 50_000:
            cur.executemany(f"INSERT INTO calendar_reservations ({cols}) VALUES ({marks})", batch)
            batch.clear()
    if batch:
        cur.executemany(f"INSERT INTO calendar_reservations ({cols}) VALUES ({marks})", batch)


def _load_postgres(raw: Any, sites: list[str], rows: int) -> None:
    """COPY, with the exclusion constraint dropped and rebuilt (and re-checked) in one go."""
    from jupyter_astro_ops.core.migrations.versions.calendar_0001_initial import EXCLUSION

    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    with raw.cursor() as cur:
        cur.execute(f"ALTER TABLE calendar_reservations DROP CONSTRAINT {EXCLUSION}")
        with cur.copy(f"COPY calendar_reservations ({cols}) FROM STDIN") as cp:
            for row in generate(sites, rows):
                cp.write_row(row)
        cur.execute(f"ALTER TABLE calendar_reservations ADD CONSTRAINT {EXCLUSION} EXCLUDE "
                    "USING gist (site WITH =, tstzrange(start, \"end\", '[)') WITH &&) "
                    "WHERE (status = 'active')")


def explain(db_url: str, site: str, start: datetime, end: datetime) -> list[str]:
    """The plan of the window query the service runs (it must use the site/start index)."""
    from sqlalchemy.dialects import postgresql, sqlite

    from jupyter_astro_ops.calendar.queries import overlapping_stmt, span_floor

    db = Database(db_url)
    try:
        stmt = overlapping_stmt(site, start, end, span_floor(db.dialect, site, start))
        dialect = sqlite.dialect() if db.dialect == "sqlite" else postgresql.dialect()
        compiled = stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
        with db.engine.connect() as conn:
            plan = conn.exec_driver_sql(prefix + str(compiled))
            return [" ".join(str(c) for c in r) for r in plan]
    finally:
        db.dispose()


def write_config(config_dir: Path, db_url: str, sites: list[str]) -> None:
    """bench_api's server config plus the timing hook and the benchmark's sites."""
    bench_api.write_config(config_dir, db_url, ("bench_calendar_ext",), {
        "CalendarService": {"sites": {c: {"name": f"Site {c}", "timezone": "UTC"}
                                      for c in sites}},
    })


Request = tuple[str, str, bytes | None]  # method, path, body


def call(conn: http.client.HTTPConnection, req: Request) -> bytes:
    method, path, body = req
    headers = {"Authorization": f"token {TOKEN}"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    if resp.status not in (200, 201):
        raise RuntimeError(f"{method} {path} -> {resp.status}: {data[:300]!r}")
    return data


def measure(port: int, make: Callable[[], Request], clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` keep-alive clients for ``seconds``; client-side latencies in ms."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    start_line = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start_line.wait()
        while time.perf_counter() < stop_at[0]:
            req = make()
            t0 = time.perf_counter()
            try:
                call(conn, req)
            except RuntimeError as exc:
                errors.append(str(exc))
                continue
            latencies[slot].append((time.perf_counter() - t0) * 1000)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    start_line.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    flat = sorted(x for lat in latencies for x in lat)
    return {"requests": len(flat), "rps": len(flat) / (time.perf_counter() - began),
            "client_p50": statistics.median(flat) if flat else float("nan"),
            "errors": len(errors), "first_error": errors[0] if errors else ""}


def wait_index(port: int, timeout: float) -> str:
    """Wait until the server's in-memory reservation index is built (reads use SQL before)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < timeout:
            state = json.loads(call(conn, ("GET", INDEX, None)))
            if state["ready"]:
                return f"{state['size']:,} reservations, ready {time.perf_counter() - t0:.1f} s " \
                       "after the server answered"
            time.sleep(0.5)
        return "NOT ready: reads were answered by SQL"
    finally:
        conn.close()


def server_times(port: int) -> dict[str, list[float]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        return json.loads(call(conn, ("GET", f"{STATS}?reset=1", None)))
    finally:
        conn.close()


def scenarios(sites: list[str], rows: int) -> dict[str, tuple[str, str, Callable[[], Request]]]:
    rng = random.Random(7)
    span_days = (last_end(sites, rows) - BASE).days - 8
    slot = itertools.count()
    future = last_end(sites, rows) + timedelta(days=30)

    def week() -> Request:
        start = BASE + timedelta(days=rng.uniform(1, span_days))
        qs = (f"site={rng.choice(sites)}&start={start:%Y-%m-%dT%H:%M:%SZ}"
              f"&end={start + timedelta(days=7):%Y-%m-%dT%H:%M:%SZ}")
        return ("GET", f"{API}/reservations?{qs}", None)

    def book() -> Request:
        n = next(slot)
        start = future + timedelta(hours=2 * (n // len(sites)))
        body = {"site": sites[n % len(sites)], "start": f"{start:%Y-%m-%dT%H:%M:%SZ}",
                "end": f"{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}", "note": "bench"}
        return ("POST", f"{API}/reservations", json.dumps(body).encode())

    return {"bare APIHandler": ("GET", BARE, lambda: ("GET", BARE, None)),
            "GET one week": ("GET", f"{API}/reservations", week),
            "POST booking": ("POST", f"{API}/reservations", book)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sites", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs (median)")
    parser.add_argument("--quick", action="store_true",
                        help="100,000 rows, 3 s per run: a one-minute check")
    parser.add_argument("--db-url", help="an EMPTY database to fill (default: temp SQLite)")
    parser.add_argument("--postgres", action="store_true",
                        help="use a throwaway PostgreSQL cluster (tests/pg.py)")
    parser.add_argument("--switch-interval", type=float,
                        help="sys.setswitchinterval() in the server (CPython default 0.005 s)")
    parser.add_argument("--only", action="append", default=[], metavar="WORD",
                        help="run only the scenarios whose name contains WORD (and the bare "
                             "handler); repeatable")
    profiling.add_argument(parser)
    args = parser.parse_args()
    if args.quick:
        args.rows, args.seconds = min(args.rows, 100_000), min(args.seconds, 3.0)
    sites = site_codes(args.sites)
    with tempfile.TemporaryDirectory(prefix="astro-bench-cal-") as tmp, \
            bench_api.bench_db(Path(tmp), args.postgres, args.db_url) as db_url:
        run(args, sites, db_url, Path(tmp))


def run(args: argparse.Namespace, sites: list[str], db_url: str, workdir: Path) -> None:
    took = load(db_url, sites, args.rows)
    backend = db_url.split(":", 1)[0].split("+", 1)[0]
    print(f"loaded {args.rows:,} reservations over {len(sites)} sites into {backend} "
          f"in {took:.1f} s")
    mid = BASE + (last_end(sites, args.rows) - BASE) / 2
    print("window query plan:")
    for line in explain(db_url, sites[0], mid, mid + timedelta(days=7)):
        print(f"    {line}")
    write_config(workdir / "config", db_url, sites)
    if args.switch_interval:
        os.environ["BENCH_SWITCH_INTERVAL"] = str(args.switch_interval)
    port = free_port()
    proc = start_server(workdir, port)
    results: dict[str, dict[str, Any]] = {}
    try:
        bench_api.wait_ready(port, proc, timeout=120, paths=(BARE, f"{API}/sites"))
        built = wait_index(port, timeout=600)
        print(f"reservation index: {built}", flush=True)
        plan = {name: spec for name, spec in scenarios(sites, args.rows).items()
                if name == "bare APIHandler" or not args.only
                or any(word.lower() in name.lower() for word in args.only)}
        for name, (method, path, make) in plan.items():
            measure(port, make, args.clients, 1.0)  # warm-up, discarded
            # latency: one client, so no request waits behind another in the server
            server_times(port)
            with profiling.profiled(proc.pid, args.profile, "calendar-" + name.split()[0]):
                lat = measure(port, make, 1, args.seconds / 2)
            times = server_times(port).get(f"{method} {path}", [])
            results[name] = {"p50": pct(times, 0.5), "p99": pct(times, 0.99),
                             "client_p50": lat["client_p50"], "errors": lat["errors"],
                             "first_error": lat["first_error"], "runs": []}
        for _ in range(args.repeat):  # throughput, interleaved so each round sees one load
            for name, (_, _, make) in plan.items():
                got = measure(port, make, args.clients, args.seconds)
                results[name]["runs"].append(got["rps"])
                results[name]["errors"] += got["errors"]
                results[name]["first_error"] = results[name]["first_error"] or got["first_error"]
        for r in results.values():
            r["rps"] = statistics.median(r["runs"])
    finally:
        stop_server(proc)
    report(args, backend, results)


def report(args: argparse.Namespace, backend: str, results: dict[str, dict[str, Any]]) -> None:
    interval = f", switch interval {args.switch_interval} s" if args.switch_interval else ""
    print(f"\n{backend}{interval}; p50/p99 from one client ({args.seconds / 2:.0f} s; "
          "srv = tornado request time inside the server, cli = round trip); "
          f"req/s from {args.clients} keep-alive "
          f"clients ({args.seconds:.0f} s, median of {args.repeat} interleaved runs); "
          "ratio = req/s / bare req/s")
    print(f"{'endpoint':16s} {'req/s':>8s} {'srv p50':>8s} {'srv p99':>8s} {'cli p50':>8s} "
          f"{'ratio':>6s} {'errors':>6s}")
    bare = results["bare APIHandler"]["rps"]
    for name, r in results.items():
        print(f"{name:16s} {r['rps']:8.1f} {r['p50']:8.2f} {r['p99']:8.2f} "
              f"{r['client_p50']:8.2f} {r['rps'] / bare:6.2f} {r['errors']:6d}")
        if r["first_error"]:
            print(f"    first error: {r['first_error']}")
    print("\naims: GET one week ratio >= 0.5 (p50 <= 5 ms); POST booking ratio >= 0.2, "
          "p50 <= 2 ms")


if __name__ == "__main__":
    main()
