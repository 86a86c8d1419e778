"""Database side of running jobs: claim, plan, progress, finish, requeue after a restart.

Every status change of a job and of its activity event happens in one transaction. Event
statuses: WAITING (queued) -> RUNNING -> SUCCESS (all files verified) or ERROR (some failed,
or cancelled: the log says "cancelled by <user>").

Several runners may share one database (servers, JupyterHub worker services). A runner claims
a queued job of its scope (``scopes``) with compare-and-set, naming itself and a lease; each
progress write renews the lease and checks that the job is still its own, so a runner whose
lease was taken over (it hung, or lost the database) stops without writing anything more.
A job whose lease ran out goes back to the queue (``requeue_expired``) and any runner of its
scope resumes it. A server starting up also requeues the jobs of its own directory that its
previous life left running (only that server works there).
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, and_, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session
from traitlets import Float, Unicode
from traitlets.config import LoggingConfigurable

from ..activity.protocols import EventRecorder
from ..activity.states import FINAL
from ..core.db import Database
from ..core.driver import DriverStatement
from ..core.timeutil import utcnow
from .models import StagingFile, StagingJob
from .scopes import OwnDirectory, Scope, UserHomes

MAX_LOGGED_ERRORS = 20
OBJECT_TYPE = "STAGING_JOB"  # the activity object type of a staging job


JobEvents = EventRecorder  # what staging asks of the activity log
_FILES = cast(Table, StagingFile.__table__)


class PlannedFile(NamedTuple):
    """One file of a job's plan as the run needs it: a plain tuple, not an ORM object, so a
    job of 100,000 files costs no attribute instrumentation and nothing for the GC to walk."""

    job_id: str
    seq: int
    relpath: str
    size: int
    state: str
    checksum: str | None


# one file's new state, by primary key (bound names must differ from the column names); the
# plan's and the progress's rows go to the driver in one executemany each (core.db): through
# SQLAlchemy's execution layers they cost 3-4 times as much per row
_SET_FILE_STATE = DriverStatement(update(_FILES).where(and_(
    _FILES.c.job_id == bindparam("b_job"), _FILES.c.seq == bindparam("b_seq"))).values(
    state=bindparam("state"), checksum=bindparam("checksum"), size=bindparam("size"),
    error=bindparam("error")))
_INSERT_FILE = DriverStatement(insert(_FILES), keys=PlannedFile._fields)
# a file's new state as the run keeps it, in the order of the statement's placeholders on a
# positional driver (SQLite), which then takes the run's tuples as they are (no per-row copy)
FILE_STATE = ("size", "checksum", "state", "error", "b_job", "b_seq")


class LostClaim(Exception):
    """The job is no longer this runner's (its lease ran out and another runner took it)."""


class JobStore(LoggingConfigurable):
    """Transactions used by the runner and the worker threads (``c.JobStore.*``).

    The scope: a process with a working directory (``root_dir``: a Jupyter server) runs the
    jobs queued for it; without one (``root_dir=None``: ``jupyter astro-ops worker`` under
    JupyterHub) it runs every user's jobs in ``home_template``.
    """

    home_template = Unicode("", config=True, help=(
        "For the JupyterHub worker service: each user's working directory, e.g. "
        "/home/{username} (as the spawner sets it). The worker runs a queued job only when the "
        "job's working directory is exactly its user's, so no job can make it write into "
        "another user's home."))
    lease_seconds = Float(60.0, config=True, help=(
        "Seconds a runner holds a running job without a progress write before another runner "
        "may take it over (its lease is renewed with every progress write)."))

    def __init__(self, db: Database, events: JobEvents, root_dir: str | None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db = db
        self.act = events
        self.scope: Scope = (OwnDirectory(root_dir) if root_dir is not None
                             else UserHomes(self.home_template))
        self.root_dir = self.scope.root_dir
        self.owner = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def _lease(self, now: datetime | None = None) -> datetime:
        return (now or utcnow()) + timedelta(seconds=self.lease_seconds)

    def _scoped(self, stmt: Any) -> Any:
        where = self.scope.where()
        return stmt if where is None else stmt.where(where)

    def event(self, session: Session, job: StagingJob) -> Any:
        """The job's activity event row (``None`` for a job without one)."""
        return self.act.find(session, job.event_id)

    def requeue_interrupted(self) -> list[str]:
        """Jobs of this server's own directory left ``running`` by its previous life go back
        to the queue at start-up (only this server works in that directory)."""
        if not isinstance(self.scope, OwnDirectory):
            return []  # shared scopes wait for the lease to run out (requeue_expired)
        return self._requeue(StagingJob.root_dir == self.root_dir,
                             "server restarted: the job will resume")

    def requeue_expired(self, now: datetime | None = None) -> list[str]:
        """Running jobs of this scope whose runner's lease ran out go back to the queue."""
        return self._requeue(StagingJob.lease_until < (now or utcnow()),
                             "its runner stopped answering: the job will resume")

    def release(self, job_ids: list[str]) -> list[str]:
        """Jobs this runner still holds go back to the queue now (a clean stop), so another
        runner of the scope resumes them at once instead of waiting for the lease."""
        if not job_ids:
            return []
        return self._requeue(StagingJob.id.in_(job_ids) & (StagingJob.claimed_by == self.owner),
                             "its runner stopped: the job will resume")

    def _requeue(self, condition: Any, message: str) -> list[str]:
        with self.db.write() as session:
            stmt = self._scoped(select(StagingJob).where(StagingJob.status == "running",
                                                          condition))
            jobs = [j for j in session.scalars(stmt).all() if self.scope.serves(j)]
            for job in jobs:
                job.status, job.claimed_by, job.lease_until = "queued", None, None
                ev = self.event(session, job)
                if ev is not None and ev.status == "RUNNING":
                    self.act.transition(session, ev, "WAITING", message=message)
            return [j.id for j in jobs]

    def any_queued(self) -> bool:
        """Whether a job of this scope is queued (a read: a wake-up by some other process's
        event then costs no write lock, and holds no runner slot)."""
        with self.db.read() as session:
            stmt = self._scoped(select(StagingJob.id).where(StagingJob.status == "queued"))
            return session.scalar(stmt.limit(1)) is not None

    def claim(self, limit: int) -> list[str]:
        """Move up to ``limit`` queued jobs of this scope to ``running``, leased to us."""
        with self.db.write() as session:
            stmt = self._scoped(select(StagingJob).where(StagingJob.status == "queued")
                                .order_by(StagingJob.created).limit(limit * 4))
            if self.db.dialect == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            jobs = [j for j in session.scalars(stmt).all() if self.scope.serves(j)][:limit]
            for job in jobs:
                self.take(session, job)
            return [j.id for j in jobs]

    def take(self, session: Session, job: StagingJob) -> None:
        """Move ``job`` (queued, or being created in ``session``) to ``running``, leased to
        this runner, and its event to RUNNING, in the caller's transaction."""
        resumed = job.started is not None
        job.status = "running"
        job.started = job.started or utcnow()
        job.claimed_by, job.lease_until = self.owner, self._lease()
        ev = self.event(session, job)
        if ev is not None and ev.status in ("NEW", "WAITING"):
            self.act.transition(session, ev, "RUNNING", message=(
                "resumed" if resumed else "started"))

    def renew(self, job_ids: list[str]) -> None:
        """Extend the leases of jobs this runner holds (its heartbeat, each runner round)."""
        with self.db.write() as session:
            session.execute(update(StagingJob)
                            .where(StagingJob.id.in_(job_ids), StagingJob.claimed_by == self.owner,
                                   StagingJob.status == "running")
                            .values(lease_until=self._lease())
                            .execution_options(synchronize_session=False))

    def _own(self, session: Session, job_id: str) -> StagingJob:
        """The job if it is still ours (claimed by this store and running), else LostClaim."""
        job = session.get_one(StagingJob, job_id)
        if job.claimed_by != self.owner or job.status != "running":
            raise LostClaim(job_id)
        return job

    def load_job(self, job_id: str) -> StagingJob | None:
        with self.db.read() as session:
            job = session.get(StagingJob, job_id)
            session.expunge_all()  # detached, so the read's rollback does not expire it
            return job

    def save_plan(self, job_id: str, files: list[PlannedFile], total_bytes: int,
                  skipped: list[str]) -> None:
        with self.db.write() as session:
            session.execute(delete(StagingFile).where(StagingFile.job_id == job_id))
            job = self._own(session, job_id)
            _INSERT_FILE.executemany(session, PlannedFile._fields, files)
            job.planned = True
            job.files_total = len(files)
            job.bytes_total = total_bytes
            ev = self.event(session, job)
            if ev is not None:
                msg = f"planned {len(files)} files, {total_bytes} bytes"
                if skipped:
                    msg += f"; left out {len(skipped)}: " + ", ".join(skipped[:10])
                self.act.note(session, ev, msg, data={"files_total": len(files),
                                                      "bytes_total": total_bytes})

    def load_files(self, job_id: str) -> list[PlannedFile]:
        f = _FILES.c
        with self.db.read() as session:
            rows = session.execute(select(f.job_id, f.seq, f.relpath, f.size, f.state,
                                          f.checksum).where(f.job_id == job_id).order_by(f.seq))
            return [PlannedFile(*row) for row in rows]

    def progress(self, run: Any, batch: list[tuple[Any, ...]]) -> str | None:
        """Store file states (``batch``: tuples of ``FILE_STATE``) and counters; answer who
        asked to cancel (if anyone)."""
        with self.db.write() as session:
            job = self._own(session, run.job.id)
            job.lease_until = self._lease()
            data = self._record_progress(session, job, run, batch)
            ev = self.event(session, job)
            if ev is not None:
                self.act.note(session, ev, None, data=data)
            return job.cancel_requested_by

    @staticmethod
    def _record_progress(session: Session, job: StagingJob, run: Any,
                         batch: list[tuple[Any, ...]]) -> dict[str, int]:
        """Write ``batch`` and ``run``'s counters to the job; the event's progress data."""
        c = run.counts
        _SET_FILE_STATE.executemany(session, FILE_STATE, batch)
        job.files_done = c["copied"] + c["skipped"] + c["failed"]
        job.files_skipped, job.files_failed = c["skipped"], c["failed"]
        job.bytes_done = max(c["bytes"], 0)
        if run.job.method == "symlink":
            job.files_total = job.files_done
        return {"files_done": job.files_done, "files_total": job.files_total,
                "bytes_done": job.bytes_done, "bytes_total": job.bytes_total,
                "files_failed": job.files_failed, "files_skipped": job.files_skipped}

    def finish(self, job_id: str, status: str, message: str, errors: list[str],
               run: Any = None, batch: list[tuple[Any, ...]] | None = None) -> None:
        """Final status of the job and its event (``succeeded``/``failed``/``cancelled``);
        nothing if the job is no longer ours. With ``run``, its last file states (``batch``)
        and counters are written in the same transaction (one commit fewer per job), and a
        cancel that arrived since the last progress write still wins over ``succeeded``."""
        with self.db.write() as session:
            try:
                job = self._own(session, job_id)
            except LostClaim:
                return
            data = (self._record_progress(session, job, run, batch or []) if run is not None
                    else None)
            if run is not None and job.cancel_requested_by:  # as a last progress write would
                status, message = "cancelled", f"cancelled by {job.cancel_requested_by}"
            job.status, job.claimed_by, job.lease_until = status, None, None
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
                self.act.note(session, ev, message, level=level, data=data)
                return
            if ev.status in ("NEW", "WAITING") and status != "cancelled":
                self.act.transition(session, ev, "RUNNING", message="started")
            final = "SUCCESS" if status == "succeeded" else "ERROR"
            self.act.transition(session, ev, final, message=message, level=level, data=data)
