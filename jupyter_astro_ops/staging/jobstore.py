"""Database side of running jobs: claim, plan, progress, finish, requeue after a restart.

Every status change of a job and of its activity event happens in one transaction. Event
statuses: WAITING (queued) -> RUNNING -> SUCCESS (all files verified) or ERROR (some failed,
or cancelled: the log says "cancelled by <user>"). A job found running at start-up goes
RUNNING -> WAITING ("resuming after a server restart") and is claimed again.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from ..activity.protocols import EventRecorder
from ..activity.states import FINAL
from ..core.db import Database
from ..core.timeutil import utcnow
from .models import StagingFile, StagingJob

MAX_LOGGED_ERRORS = 20
OBJECT_TYPE = "STAGING_JOB"  # the activity object type of a staging job


JobEvents = EventRecorder  # what staging asks of the activity log


class JobStore:
    """Transactions used by the runner and the worker threads.

    ``root_dir`` is the server's working directory (resolved): every target lies inside it,
    and this store only claims the jobs queued for it.
    """

    def __init__(self, db: Database, events: JobEvents, root_dir: str) -> None:
        self.db = db
        self.act = events
        self.root_dir = os.path.realpath(root_dir)

    def event(self, session: Session, job: StagingJob) -> Any:
        """The job's activity event row (``None`` for a job without one)."""
        return self.act.find(session, job.event_id)

    def requeue_interrupted(self) -> list[str]:
        """Jobs of this server left ``running`` by a dead process go back to the queue."""
        with self.db.write() as session:
            jobs = session.scalars(select(StagingJob).where(
                StagingJob.status == "running", StagingJob.root_dir == self.root_dir)).all()
            for job in jobs:
                job.status = "queued"
                ev = self.event(session, job)
                if ev is not None and ev.status == "RUNNING":
                    self.act.transition(session, ev, "WAITING",
                                        message="server restarted: the job will resume")
            return [j.id for j in jobs]

    def claim(self, limit: int) -> list[str]:
        """Move up to ``limit`` queued jobs of this server to ``running``."""
        with self.db.write() as session:
            stmt = (select(StagingJob)
                    .where(StagingJob.status == "queued", StagingJob.root_dir == self.root_dir)
                    .order_by(StagingJob.created).limit(limit))
            if self.db.dialect == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            jobs = session.scalars(stmt).all()
            for job in jobs:
                resumed = job.started is not None
                job.status = "running"
                job.started = job.started or utcnow()
                ev = self.event(session, job)
                if ev is not None and ev.status in ("NEW", "WAITING"):
                    self.act.transition(session, ev, "RUNNING", message=(
                        "resumed" if resumed else "started"))
            return [j.id for j in jobs]

    def load_job(self, job_id: str) -> StagingJob | None:
        with self.db.read() as session:
            job = session.get(StagingJob, job_id)
            session.expunge_all()  # detached, so the read's rollback does not expire it
            return job

    def save_plan(self, job_id: str, rows: list[dict[str, Any]], total_bytes: int,
                  skipped: list[str]) -> None:
        with self.db.write() as session:
            session.execute(delete(StagingFile).where(StagingFile.job_id == job_id))
            for start in range(0, len(rows), 5000):
                session.execute(insert(StagingFile), rows[start:start + 5000])
            job = session.get_one(StagingJob, job_id)
            job.planned = True
            job.files_total = len(rows)
            job.bytes_total = total_bytes
            ev = self.event(session, job)
            if ev is not None:
                msg = f"planned {len(rows)} files, {total_bytes} bytes"
                if skipped:
                    msg += f"; left out {len(skipped)}: " + ", ".join(skipped[:10])
                self.act.note(session, ev, msg, data={"files_total": len(rows),
                                                      "bytes_total": total_bytes})

    def load_files(self, job_id: str) -> list[StagingFile]:
        with self.db.read() as session:
            files = list(session.scalars(select(StagingFile).where(
                StagingFile.job_id == job_id).order_by(StagingFile.seq)))
            session.expunge_all()
            return files

    def progress(self, run: Any, batch: list[dict[str, Any]], final: bool = False) -> str | None:
        """Store file states and counters; answer who asked to cancel (if anyone)."""
        c = run.counts
        with self.db.write() as session:
            if batch:
                session.execute(update(StagingFile), batch)
            job = session.get_one(StagingJob, run.job.id)
            job.files_done = c["copied"] + c["skipped"] + c["failed"]
            job.files_skipped, job.files_failed = c["skipped"], c["failed"]
            job.bytes_done = max(c["bytes"], 0)
            if run.job.method == "symlink":
                job.files_total = job.files_done
            ev = self.event(session, job)
            if ev is not None:
                data = {"files_done": job.files_done, "files_total": job.files_total,
                        "bytes_done": job.bytes_done, "bytes_total": job.bytes_total,
                        "files_failed": job.files_failed, "files_skipped": job.files_skipped}
                self.act.note(session, ev, None, data=data)
            return job.cancel_requested_by

    def finish(self, job_id: str, status: str, message: str, errors: list[str]) -> None:
        """Final status of the job and its event (``succeeded``/``failed``/``cancelled``)."""
        with self.db.write() as session:
            job = session.get_one(StagingJob, job_id)
            job.status = status
            job.finished = utcnow()
            if status != "succeeded":
                job.error = message
            ev = self.event(session, job)
            if ev is None:
                return
            for line in errors[:MAX_LOGGED_ERRORS]:
                self.act.note(session, ev, line, level="error")
            if len(errors) > MAX_LOGGED_ERRORS:
                self.act.note(session, ev, f"... and {len(errors) - MAX_LOGGED_ERRORS} more",
                              level="error")
            level = "info" if status == "succeeded" else (
                "warning" if status == "cancelled" else "error")
            if ev.status in [s.value for s in FINAL]:  # e.g. a job re-run after it ended
                self.act.note(session, ev, message, level=level)
                return
            if ev.status in ("NEW", "WAITING") and status != "cancelled":
                self.act.transition(session, ev, "RUNNING", message="started")
            final = "SUCCESS" if status == "succeeded" else "ERROR"
            self.act.transition(session, ev, final, message=message, level=level)
