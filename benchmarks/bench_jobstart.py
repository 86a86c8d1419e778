"""Job start latency: a small staging job from ``queued`` to ``running`` on an idle server.

Starts a real ``jupyter server`` (its staging runner) on a temp SQLite or a throwaway
PostgreSQL, then queues small jobs (3 files, 23 KB) two ways:

* **another process**: this script builds the parts with ``compose.build_services`` on the same
  database (as the dashboard process does) and calls ``StagingService.create_job``; it never
  starts them, so only the server's runner can claim the job;
* **the server itself**: ``POST staging/jobs``.

The start latency is ``started - created`` of the job row (both stamped by ``utcnow()`` on this
machine). The finish figure is the client's view: from the request until ``GET
staging/jobs/<id>`` reports ``succeeded`` (polled every 5 ms). Medians of ``--repeat`` jobs;
the baseline is the runner's poll interval (what a job waited before cross-process wake-ups).
Aim: start <= 50 ms from any process.

    .venv/bin/python benchmarks/bench_jobstart.py [--repeat 15] [--postgres] [--quick]

Not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_api import bench_db
from bench_staging import Server
from traitlets.config import Config, Configurable

from jupyter_astro_ops.compose import build_services
from jupyter_astro_ops.core import migrate
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.identity import User
from jupyter_astro_ops.staging.models import StagingJob
from jupyter_astro_ops.staging.schemas import JobCreate, SourceRef

AIM_MS = 50.0
POLL_INTERVAL = 2.0  # StagingService.poll_interval's default: the wait before wake-ups


def make_source(src: Path) -> None:
    """3 files, 23 KB: the notebook-sized job of the issue."""
    (src / "small").mkdir(parents=True)
    for name, size in (("a.fits", 16_000), ("b.fits", 5_000), ("c.txt", 2_000)):
        (src / "small" / name).write_bytes(os.urandom(size))


def job_times(db: Database, job_id: str, timeout: float = 30.0) -> tuple[float, str]:
    """Wait until the job has started; seconds from ``created`` to ``started``, and status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.read() as session:
            job = session.get(StagingJob, job_id)
            if job is not None and job.started is not None:
                return (job.started - job.created).total_seconds(), job.status
        time.sleep(0.002)
    raise RuntimeError(f"job {job_id} did not start within {timeout} s")


def wait_final(server: Server, job_id: str) -> None:
    url = f"{server.url}/astro-ops/api/v1/staging/jobs/{job_id}"
    while True:
        job = server.http.get(url).json()
        if job["status"] not in ("queued", "running"):
            if job["status"] != "succeeded":
                raise RuntimeError(f"job failed: {job}")
            return
        time.sleep(0.005)


def from_other_process(server: Server, db: Database, service: Any, n: int) -> dict[str, float]:
    user = User("bench", "Bench")
    starts, finishes = [], []
    for i in range(n):
        t0 = time.perf_counter()
        job = service.create_job(user, JobCreate(source=SourceRef(root="src", path="small"),
                                                 target=f"other{i}"))
        starts.append(job_times(db, job.id)[0])
        wait_final(server, job.id)
        finishes.append(time.perf_counter() - t0)
        time.sleep(0.05)  # idle again
    return {"start": statistics.median(starts) * 1000, "finish": statistics.median(finishes) * 1000}


def from_server(server: Server, db: Database, n: int) -> dict[str, float]:
    starts, finishes = [], []
    for i in range(n):
        t0 = time.perf_counter()
        resp = server.http.post(server.url + "/astro-ops/api/v1/staging/jobs", json={
            "source": {"root": "src", "path": "small"}, "target": f"local{i}"})
        resp.raise_for_status()
        job_id = resp.json()["id"]
        starts.append(job_times(db, job_id)[0])
        wait_final(server, job_id)
        finishes.append(time.perf_counter() - t0)
        time.sleep(0.05)
    return {"start": statistics.median(starts) * 1000, "finish": statistics.median(finishes) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="jobs per way of queueing")
    parser.add_argument("--quick", action="store_true", help="5 jobs per way")
    parser.add_argument("--postgres", action="store_true",
                        help="use a throwaway PostgreSQL cluster (tests/pg.py)")
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="scratch directory")
    args = parser.parse_args()
    repeat = 5 if args.quick else args.repeat
    tmp = Path(tempfile.mkdtemp(prefix="bench-jobstart-", dir=args.dir))
    src, work = tmp / "src", tmp / "work"
    work.mkdir()
    make_source(src)
    try:
        with bench_db(tmp, args.postgres) as db_url:
            migrate.upgrade(db_url)
            server = Server(tmp, src, work, db_url)
            db = Database(db_url)
            config = Config({"StagingService": {"roots": {"src": {"url": src.as_uri()}}}})
            parts = build_services(Configurable(config=config), db,
                                   root_dir=str(work))  # not started
            try:
                from_server(server, db, 2)  # warm-up, discarded
                other = from_other_process(server, db, parts.staging.service, repeat)
                local = from_server(server, db, repeat)
            finally:
                server.stop()
                db.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    backend = db_url.split(":", 1)[0].split("+", 1)[0]
    print(f"{backend}: a 3-file job (23 KB) on an idle server, median of {repeat} jobs; "
          f"baseline = the runner's {POLL_INTERVAL:.0f} s poll (mean wait "
          f"{POLL_INTERVAL * 500:.0f} ms); aim: start <= {AIM_MS:.0f} ms")
    for label, fig in (("queued by another process", other), ("POST staging/jobs", local)):
        verdict = "met" if fig["start"] <= AIM_MS else "NOT met"
        print(f"  {label:<26} queued->running {fig['start']:8.1f} ms  "
              f"(vs poll {POLL_INTERVAL * 500 / fig['start']:6.1f}x, aim {verdict})"
              f"  request->succeeded seen {fig['finish']:8.1f} ms")


if __name__ == "__main__":
    main()
