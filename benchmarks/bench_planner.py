"""Planner benchmark: ``GET planner/grid`` and ``GET planner/coverage`` beside ``GET
planner/entries`` of the same 31-day window, for 500 employees with 20,000 stored entries.

Bulk-loads ``--employees`` people (4 departments, night roles among them) and ``--entries``
stored entries with their blocks over ``--days`` days (hand entries of one or two blocks,
night-table imports beside them, some days left to the defaults), two holidays, and the
default coverage rules. Starts a real ``jupyter server --allow-root`` with the extension and the
timing hook of ``bench_calendar_ext.py``, then runs keep-alive clients against:

* ``GET planner/entries?start=&end=``: the stored entries of the window, the unavoidable read
  (the baseline);
* ``GET planner/grid?start=&end=``: the same read plus defaults, holidays and conflicts for
  every employee x day;
* ``GET planner/coverage?start=&end=``: the same read plus every rule x day.

It prints the server-side p50/p99 (tornado's request time, measured inside the server), the
client-side p50, requests/s, and the ratio of the baseline's p50 to each endpoint's p50.

    .venv/bin/python benchmarks/bench_planner.py [--employees 500] [--entries 20000]
        [--days 31] [--clients 2] [--seconds 8] [--postgres | --db-url URL] [--profile]

``--profile`` runs the grid and the coverage in-process under cProfile first and prints the
top functions. Not a test: it prints figures and asserts nothing. Aims: grid p50 <= 50 ms,
ratio (entries p50 / grid p50) >= 0.5.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import bench_api
from bench_api import BARE, free_port, pct, start_server, stop_server
from bench_calendar import measure, server_times
from sqlalchemy import insert, text
from traitlets.config import Config, Configurable

from jupyter_astro_ops.compose import build_services
from jupyter_astro_ops.core import migrate
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.identity import RoleMap
from jupyter_astro_ops.planner.models import Block, Employee, Entry, Holiday

API = "/astro-ops/api/v1/planner"
FIRST = date(2031, 3, 1)
HST = ZoneInfo("Pacific/Honolulu")
DEPARTMENTS = ("Operations", "Science", "Engineering", "Administration")
NIGHT_ROLES = ("night_attendant", "observing_assistant", "staff_astronomer")
PLACES = ("HQ", "SU", "HP", "Hilo", "Kona")


def utc(day: date, minute: int) -> datetime:
    days, rest = divmod(minute, 1440)
    local = datetime.combine(day + timedelta(days=days), dtime(rest // 60, rest % 60),
                             tzinfo=HST)
    return local.astimezone(timezone.utc)


def generate(employees: int, entries: int, days: int, seed: int = 3
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Employees, entries and blocks (no overlaps, as the service would have stored them)."""
    rng = random.Random(seed)
    now = datetime(2031, 1, 1, tzinfo=timezone.utc)
    people = []
    for i in range(employees):
        role = [NIGHT_ROLES[i % 3]] if i % 5 == 0 else []
        people.append({
            "username": f"emp{i:04d}", "display_name": f"Employee {i:04d}",
            "department": DEPARTMENTS[i % 4], "roles": role, "base_camp": "Waimea",
            "primary_location": "none" if i % 50 == 49 else PLACES[i % 5],
            "shift_start": 480, "shift_end": 1020, "working_days": 0b0011111,
            "timezone": "Pacific/Honolulu", "calendar": "main", "active": True,
            "source": "directory", "version": 1, "created": now, "modified": now})
    cells = [(p, FIRST + timedelta(days=d)) for p in people for d in range(days)]
    rng.shuffle(cells)
    rows: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []

    def entry(person: dict[str, Any], day: date, origin: str, spans: list[tuple[str, int, int]],
              key: str | None = None) -> None:
        eid = uuid.UUID(int=rng.getrandbits(128)).hex
        rows.append({"id": eid, "username": person["username"], "day": day,
                     "timezone": "Pacific/Honolulu", "note": "", "seats": 0,
                     "alternate_pickup": "", "summit_lead": "", "support_lead": "",
                     "crew_lead": "", "origin": origin,
                     "source": None if origin == "hand" else origin, "import_key": key,
                     "import_digest": None if key is None else "0" * 64,
                     "entered_by": "bench", "deleted": False, "deleted_at": None,
                     "version": 1, "created": now, "modified": now})
        for pos, (loc, start, end) in enumerate(spans):
            blocks.append({"entry_id": eid, "position": pos, "location": loc,
                           "start": utc(day, start), "end": utc(day, end),
                           "local_start": start, "local_end": end})

    for person, day in cells:
        if len(rows) >= entries:
            break
        pattern = rng.random()
        if pattern < 0.10:
            continue  # left to the default
        if pattern < 0.45:
            entry(person, day, "hand", [(rng.choice(PLACES), 480, 1020)])
        elif pattern < 0.60:
            entry(person, day, "hand", [("HQ", 480, 720), ("WFH", 780, 1020)])
        else:
            entry(person, day, "hand", [(rng.choice(PLACES), 420, 930)])
            if len(rows) < entries:
                role = person["roles"][0] if person["roles"] else "night_attendant"
                entry(person, day, "night", [("SUNight", 1080, 1800)],
                      key=f"{role}-{person['username']}")
    return people, rows, blocks


def load(db_url: str, employees: int, entries: int, days: int) -> tuple[float, int, int]:
    """Migrate and bulk-insert; returns (seconds, entries, blocks)."""
    migrate.upgrade(db_url)
    people, rows, blocks = generate(employees, entries, days)
    db = Database(db_url)
    started = time.perf_counter()
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(Employee), people)
            for i in range(0, len(rows), 5000):
                conn.execute(insert(Entry), rows[i:i + 5000])
            for i in range(0, len(blocks), 5000):
                conn.execute(insert(Block), blocks[i:i + 5000])
            now = datetime.now(timezone.utc)
            conn.execute(insert(Holiday), [
                {"calendar": "main", "day": FIRST + timedelta(days=3), "name": "Bench Day",
                 "created_by": "bench", "created": now},
                {"calendar": "main", "day": FIRST + timedelta(days=17), "name": "Other Day",
                 "created_by": "bench", "created": now}])
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    finally:
        db.dispose()
    return time.perf_counter() - started, len(rows), len(blocks)


def profile(db_url: str, days: int) -> None:
    """The grid and the coverage in-process under cProfile: where the time goes."""
    db = Database(db_url)
    try:
        config = Config({"PlannerService": {"read_cache_size": 0}})
        services = build_services(Configurable(config=config), db,
                                  roles=RoleMap({"admin": ["alice"]}))
        user = services.roles.resolve("alice")
        planner = services.planner.service
        last = FIRST + timedelta(days=days - 1)
        calls = {"grid": partial(planner.grid_json, user, FIRST, last),
                 "coverage": partial(planner.coverage_json, user, FIRST, last),
                 "entries": partial(planner.entries_json, user, FIRST, last)}
        for name, call in calls.items():
            call()  # warm
            prof = cProfile.Profile()
            t0 = time.perf_counter()
            prof.enable()
            for _ in range(5):
                call()
            prof.disable()
            took = (time.perf_counter() - t0) / 5 * 1000
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(14)
            print(f"\n--- cProfile: {name} (in-process, {took:.1f} ms per call) ---")
            print("\n".join(out.getvalue().splitlines()[6:28]))
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--employees", type=int, default=500)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--db-url", help="an EMPTY database to fill (default: temp SQLite)")
    parser.add_argument("--postgres", action="store_true",
                        help="use a throwaway PostgreSQL cluster (tests/pg.py)")
    parser.add_argument("--profile", action="store_true", help="cProfile the reads first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="astro-bench-planner-") as tmp, \
            bench_api.bench_db(Path(tmp), args.postgres, args.db_url) as db_url:
        run(args, db_url, Path(tmp))


def run(args: argparse.Namespace, db_url: str, workdir: Path) -> None:
    took, n_entries, n_blocks = load(db_url, args.employees, args.entries, args.days)
    backend = db_url.split(":", 1)[0].split("+", 1)[0]
    print(f"loaded {args.employees} employees, {n_entries:,} entries ({n_blocks:,} blocks) "
          f"over {args.days} days into {backend} in {took:.1f} s")
    if args.profile:
        profile(db_url, args.days)
    last = FIRST + timedelta(days=args.days - 1)
    window = f"start={FIRST.isoformat()}&end={last.isoformat()}"
    for label, cache in (("cold: every read rendered (read_cache_size=0)", 0),
                         ("warm: rendered answers kept until a change (default)", 32)):
        bench_api.write_config(workdir / "config", db_url, ("bench_calendar_ext",),
                               {"PlannerService": {"read_cache_size": cache}})
        results = serve_and_measure(args, workdir, window)
        report(args, backend, label, results)
    print("\naims: GET grid p50 <= 50 ms; ratio (entries / grid, entries / coverage) >= 0.5")


def serve_and_measure(args: argparse.Namespace, workdir: Path, window: str
                      ) -> dict[str, dict[str, Any]]:
    port = free_port()
    proc = start_server(workdir, port)
    endpoints = {"bare APIHandler": BARE, "GET entries": f"{API}/entries",
                 "GET grid": f"{API}/grid", "GET coverage": f"{API}/coverage"}
    results: dict[str, dict[str, Any]] = {}
    try:
        bench_api.wait_ready(port, proc, timeout=120, paths=(BARE, f"{API}/settings"))
        for name, path in endpoints.items():
            url = path if path == BARE else f"{path}?{window}"
            make = partial(tuple, ("GET", url, None))
            measure(port, make, 1, 1.0)  # warm-up, discarded
            server_times(port)
            lat = measure(port, make, 1, args.seconds / 2)
            times = server_times(port).get(f"GET {path}", [])
            results[name] = measure(port, make, args.clients, args.seconds)
            results[name].update(p50=pct(times, 0.5), p99=pct(times, 0.99),
                                 client_p50=lat["client_p50"],
                                 errors=results[name]["errors"] + lat["errors"])
    finally:
        stop_server(proc)
    return results


def report(args: argparse.Namespace, backend: str, label: str,
           results: dict[str, dict[str, Any]]) -> None:
    base = results["GET entries"]["p50"]
    print(f"\n{label}\n{backend}; {args.employees} employees x {args.days} days; p50/p99 from "
          f"one client ({args.seconds / 2:.0f} s; srv = tornado request time inside the "
          f"server, cli = round trip); req/s from {args.clients} keep-alive clients "
          f"({args.seconds:.0f} s); ratio = GET entries srv p50 / this srv p50")
    print(f"{'endpoint':16s} {'req/s':>8s} {'srv p50':>8s} {'srv p99':>8s} {'cli p50':>8s} "
          f"{'ratio':>6s} {'errors':>6s}")
    for name, r in results.items():
        print(f"{name:16s} {r['rps']:8.1f} {r['p50']:8.2f} {r['p99']:8.2f} "
              f"{r['client_p50']:8.2f} {base / r['p50']:6.2f} {r['errors']:6d}")
        if r["first_error"]:
            print(f"    first error: {r['first_error']}")


if __name__ == "__main__":
    main()
