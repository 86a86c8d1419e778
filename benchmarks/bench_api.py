"""API benchmark: ``GET astro-ops/api/v1/activity`` beside a bare constant ``APIHandler``.

Starts a real ``jupyter server --allow-root`` subprocess with the extension on a temp SQLite
that holds 10,000 activity events (written through ``EventLog.record`` in bulk
transactions) and the bare handler of ``bench_bare_ext.py`` in the same server. A few
keep-alive clients (threads with ``http.client``) hit each endpoint for a fixed time; the
script prints requests/s, p50 and p99 latency of both and the throughput ratio (aim >= 0.8).

    .venv/bin/python benchmarks/bench_api.py [--events 10000] [--clients 4] [--seconds 8]
        [--repeat 3] [--quick] [--profile DIR]

Not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import profiling

from jupyter_astro_ops.activity.events import EventLog
from jupyter_astro_ops.core import migrate
from jupyter_astro_ops.core.db import Database

HERE = Path(__file__).resolve().parent
TOKEN = "bench-admin-token-0001"
ACTIVITY = "/astro-ops/api/v1/activity"
BARE = "/bench/bare"


@contextmanager
def bench_db(workdir: Path, postgres: bool = False, url: str | None = None) -> Iterator[str]:
    """A benchmark's database URL: ``url`` or a SQLite file in ``workdir``; with ``postgres``
    a throwaway PostgreSQL cluster (``tests/pg.py``), stopped when the block ends."""
    if not postgres:
        yield url or f"sqlite:///{workdir / 'bench.db'}"
        return
    sys.path.insert(0, str(HERE.parent))
    from tests.pg import PgCluster

    cluster = PgCluster()
    cluster.start()
    try:
        yield cluster.url(cluster.create_database())
    finally:
        cluster.stop()


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (the nearest rank below; every benchmark's p50/p99);
    NaN when nothing was timed."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fill(db_url: str, events: int, batch: int = 1000) -> float:
    """Insert ``events`` events through the event log; returns seconds taken."""
    migrate.upgrade(db_url)
    db = Database(db_url)
    act = EventLog(db)
    users = ["obs1", "obs2", "sched", "alice"]
    started = time.perf_counter()
    try:
        for first in range(0, events, batch):
            with db.write() as session:
                for i in range(first, min(first + batch, events)):
                    act.record(session, users[i % len(users)], action="ADD",
                               object_type="RESOURCE", object_id=f"frame{i:06d}",
                               status="SUCCESS", data={"bytes": i * 2880, "night": i // 500},
                               message=f"frame {i} archived")
    finally:
        db.dispose()
    return time.perf_counter() - started


def write_config(config_dir: Path, db_url: str, extensions: tuple[str, ...] = (),
                 extra: dict[str, Any] | None = None) -> None:
    """Server config: the extension, the bare handler (+ ``extensions``), one admin token."""
    config_dir.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "ServerApp": {
            "jpserver_extensions": dict.fromkeys(
                ("jupyter_astro_ops", "bench_bare_ext", *extensions), True),
            "identity_provider_class": "jupyter_astro_ops.auth.TokenMapIdentityProvider",
            "open_browser": False,
        },
        "IdentityProvider": {"token": ""},
        "TokenMapIdentityProvider": {"tokens": {TOKEN: {"username": "alice",
                                                        "groups": ["ops-leads"]}}},
        "AstroOpsApp": {"db_url": db_url, "roles": {"admin": ["group:ops-leads"]}},
        **(extra or {}),
    }
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))


def start_server(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
           "JUPYTER_CONFIG_DIR": str(workdir / "config"),
           "JUPYTER_DATA_DIR": str(workdir / "data"),
           "JUPYTER_RUNTIME_DIR": str(workdir / "runtime")}
    cmd = [str(Path(sys.executable).with_name("jupyter")), "server", "--allow-root",
           "--no-browser", f"--port={port}", "--port-retries=0", "--ip=127.0.0.1",
           f"--ServerApp.root_dir={workdir}", "--log-level=WARN"]
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def request(conn: http.client.HTTPConnection, path: str) -> int:
    conn.request("GET", path, headers={"Authorization": f"token {TOKEN}"})
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"GET {path} -> {resp.status}: {body[:200]!r}")
    return len(body)


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 90,
               paths: tuple[str, ...] = (BARE, ACTIVITY)) -> None:
    """Wait until every one of ``paths`` answers 200 (or the server dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            for path in paths:
                request(conn, path)
            conn.close()
            return
        except (OSError, RuntimeError, http.client.HTTPException):
            time.sleep(0.3)
    raise RuntimeError("server did not become ready")


def measure(port: int, path: str, clients: int, seconds: float) -> dict[str, Any]:
    """Run ``clients`` keep-alive clients for ``seconds``; latencies in milliseconds."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    sizes: list[int] = [0] * clients
    start_line = threading.Barrier(clients + 1)
    stop_at = [0.0]

    errors: list[BaseException] = []

    def client(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            request(conn, path)  # connect + warm
        except BaseException as exc:
            errors.append(exc)
        start_line.wait()
        try:
            while not errors and time.perf_counter() < stop_at[0]:
                t0 = time.perf_counter()
                sizes[slot] = request(conn, path)
                latencies[slot].append((time.perf_counter() - t0) * 1000)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + seconds + 0.05
    start_line.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} client(s) failed: {errors[0]}")
    flat = [x for lat in latencies for x in lat]
    return {
        "requests": len(flat), "rps": len(flat) / elapsed,
        "p50": statistics.median(flat), "p99": pct(flat, 0.99),
        "bytes": max(sizes),
    }


def median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median requests/s (its latencies belong to the same round)."""
    return sorted(rounds, key=lambda r: r["rps"])[len(rounds) // 2]


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds over the endpoints, in turn (median)")
    parser.add_argument("--quick", action="store_true", help="3 s per endpoint")
    profiling.add_argument(parser)
    args = parser.parse_args()
    if args.quick:
        args.seconds = min(args.seconds, 3.0)

    with tempfile.TemporaryDirectory(prefix="astro-bench-api-") as tmp:
        workdir = Path(tmp)
        db_url = f"sqlite:///{workdir / 'bench.db'}"
        took = fill(db_url, args.events)
        print(f"filled {args.events} events through EventLog.record in {took:.1f} s")
        write_config(workdir / "config", db_url)
        port = free_port()
        proc = start_server(workdir, port)
        try:
            wait_ready(port, proc)
            endpoints = (("bare APIHandler", BARE), ("GET activity", ACTIVITY),
                         ("  ?limit=10", ACTIVITY + "?limit=10"))
            rounds: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in endpoints}
            for _name, path in endpoints:
                measure(port, path, args.clients, 1.0)  # warm-up round, discarded
            for turn in range(args.repeat):  # interleaved: drift on a shared machine hits all
                for name, path in endpoints:
                    with profiling.profiled(proc.pid, args.profile if turn == 0 else None,
                                            "api-" + path.rsplit("/", 1)[-1].replace("?", "-")):
                        rounds[name].append(measure(port, path, args.clients, args.seconds))
            results = {name: median_round(rs) for name, rs in rounds.items()}
        finally:
            stop_server(proc)

    print(f"\n{args.clients} keep-alive clients, {args.seconds:.0f} s each, median of "
          f"{args.repeat} rounds, SQLite, "
          f"{args.events} events (GET activity returns the default page of 100)")
    print(f"{'endpoint':18s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'bytes':>8s}")
    for name, r in results.items():
        print(f"{name:18s} {r['rps']:9.1f} {r['p50']:8.2f} {r['p99']:8.2f} {r['bytes']:8d}")
    bare = results["bare APIHandler"]["rps"]
    print(f"\nratio GET activity / bare = {results['GET activity']['rps'] / bare:.2f} "
          f"(aim >= 0.8); with limit=10: {results['  ?limit=10']['rps'] / bare:.2f}")


if __name__ == "__main__":
    main()
