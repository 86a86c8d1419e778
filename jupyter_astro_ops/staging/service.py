"""The staging service: configuration, authorization and the job API used by every caller.

Jobs are validated here (root, method, roles, confined source and target) before anything is
written, and stored with an activity event (``STAGING_JOB``, WAITING). The runner
(``runner.py``, built beside this service by the composition root) is woken by that event's
commit, claims the job and calls ``run_job`` in a worker thread (``jobs.JobRun``). When the
runner of this process has a free slot (``starter``), the job is claimed in the transaction
that creates it and handed to the runner at once: it never waits in the queue. A cancel is
written to the job row; the running job reads it at its next progress write (about once a
second). Browsing, streamed downloads and ``create-file`` are the ``browse.Browser``'s, handed
the same ``Roots`` (``self.storage``) by the composition root. The SKAO-compatible
``stage-data`` maps the original methods onto jobs: ``local_copy`` and ``jupyter_copy`` (now a
binary-safe copy) become ``copy``, ``local_symlink`` becomes ``symlink``; ``direct_download``
is a download.
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import Executor
from typing import Any, Protocol

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session
from traitlets import Bool, Dict, Float, Int, List, Unicode
from traitlets.config import LoggingConfigurable

from ..core.db import Database
from ..core.errors import AstroOpsError, Conflict, Forbidden, NotFound, ValidationError
from ..core.identity import User
from ..core.timeutil import utcnow
from .browse import Download, open_download
from .fserrors import fs_errors
from .jobs import BatchCopier, Flags, JobRun, Settings, Shutdown
from .jobstore import OBJECT_TYPE, JobEvents, JobStore, LostClaim
from .models import FAILED, StagingFile, StagingJob
from .paths import clean_relpath, confine_local, is_within, join_rel
from .plan import check_links_confined
from .roots import Root, Roots, build_roots
from .schemas import (
    CompatStageBody,
    FailedFile,
    JobCreate,
    JobLog,
    JobLogEntry,
    JobOut,
    JobQuery,
    SourceRef,
)
from .transfer import Cancelled


class JobStarter(Protocol):
    """The runner of this process, which can take a job as it is created (``runner.Runner``)."""

    def reserve(self) -> bool:
        """Take a free slot (``False``: none, or the runner is not running)."""

    def unreserve(self) -> None: ...

    def launch(self, job: StagingJob) -> None:
        """Run ``job``, claimed by the store in the transaction that created it."""

    def wake(self) -> None:
        """Look for queued jobs now (one was queued here without a slot)."""


COMPAT_METHODS = ("local_copy", "local_symlink", "direct_download", "jupyter_copy")
COMPAT_TO_JOB = {"local_copy": "copy", "jupyter_copy": "copy", "local_symlink": "symlink"}


def rate_and_eta(job: StagingJob) -> tuple[float | None, float | None]:
    """Average rate since start (bytes/s) and the time left at that rate."""
    if job.started is None or job.bytes_done <= 0:
        return None, None
    end = job.finished or utcnow()
    elapsed = max((end - job.started).total_seconds(), 1e-3)
    rate = job.bytes_done / elapsed
    left = max(job.bytes_total - job.bytes_done, 0)
    return rate, (left / rate if rate > 0 and job.finished is None else None)


def to_out(job: StagingJob) -> JobOut:
    """Convert a row to its wire model (with rate and ETA)."""
    rate, eta = rate_and_eta(job)
    copied = job.files_done - job.files_skipped - job.files_failed
    return JobOut(
        id=job.id, username=job.username, source=SourceRef(root=job.root, path=job.source),
        target=job.target, method=job.method, status=job.status,  # type: ignore[arg-type]
        files_total=job.files_total, files_done=job.files_done, files_copied=max(copied, 0),
        files_skipped=job.files_skipped, files_failed=job.files_failed,
        bytes_total=job.bytes_total, bytes_done=job.bytes_done,
        progress=(job.bytes_done / job.bytes_total) if job.bytes_total else (
            1.0 if job.status == "succeeded" else 0.0),
        rate_bytes_per_s=rate, eta_seconds=eta, error=job.error, event_id=job.event_id,
        cancel_requested_by=job.cancel_requested_by, created=job.created,
        started=job.started, finished=job.finished,
    )


class StagingService(LoggingConfigurable):
    """Staging business rules: roots and jobs, and the SKAO-compatible ``stage-data``."""

    roots = Dict(config=True, help=(
        "Storage roots users may stage from: name -> {url, options, methods, writable, roles, "
        "description}. url is any fsspec URL (file:///data/archive, s3://bucket/prefix, ...), "
        "options its storage options, methods a subset of copy/symlink/download (symlink only "
        "on local roots), writable allows create-file, roles limits the root to holders of "
        "any of these roles (empty: every user)."))
    compat_root = Unicode("", config=True, help=(
        "Root used by the SKAO-compatible routes (local_path_on_storage is relative to it). "
        "Default: the first configured root."))
    compat_methods = List(Unicode(), list(COMPAT_METHODS), config=True, help=(
        "Methods the SKAO-compatible stage-data route accepts (its ALLOWED_METHODS)."))
    make_read_only = Bool(False, config=True, help=(
        "Make staged copies read-only (0444, set on the file descriptor before the rename, "
        "so never through a link). Sources and symlinked data are never touched."))
    max_concurrent_jobs = Int(2, config=True, help="Jobs that run at the same time.")
    max_files_in_flight = Int(4, config=True, help=(
        "Files copied at the same time, over all running jobs (one thread each). A job "
        "from a local root keeps at most one group per CPU in flight: there the copy is "
        "CPU work (system calls, hashing), and more threads than CPUs only wait for each "
        "other; remote sources wait on the network and use them all."))
    max_bytes_per_second = Int(0, config=True, help=(
        "Bandwidth cap of each job in bytes per second, over all of its files (like rsync's "
        "--bwlimit), so that one job cannot saturate storage shared with instruments and "
        "pipelines. 0: no cap."))
    chunk_size = Int(8 << 20, config=True, help="Bytes per read/write/hash step.")
    retries = Int(3, config=True, help=(
        "Retries of a file after a transient error (not for permission, missing-file, "
        "confinement or checksum errors)."))
    retry_backoff = Float(0.5, config=True, help=(
        "Seconds before the first retry; doubled at each further retry."))
    progress_interval = Float(1.0, config=True, help=(
        "Seconds between progress writes (job row and activity event) of a running job."))
    poll_interval = Float(2.0, config=True, help=(
        "Seconds between looks for queued jobs written by other processes."))
    worker_nice = Int(10, config=True, help=(
        "Added to the nice value of staging worker threads (Linux), so that the server's "
        "event loop stays responsive while jobs copy. 0 disables."))
    unnamed_temp_files = Bool(True, config=True, help=(
        "Write each new file as an unnamed O_TMPFILE inode linked into place when done, where "
        "the file system supports it (Linux; probed per directory): nothing is visible or left "
        "behind by a crash. Off: a hidden temporary name beside the target (removed when the "
        "job resumes)."))
    fsync = Bool(False, config=True, help=(
        "fsync each file before renaming it into place (survives power loss, slower). "
        "Without it a killed server still never exposes partial files, and a resumed job "
        "re-verifies every file it had marked done."))

    def __init__(self, db: Database, events: JobEvents, store: JobStore,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db = db
        self.events = events
        self.store = store
        events.register_object_type(OBJECT_TYPE)
        self.storage = Roots(build_roots(dict(self.roots)), self.compat_root)
        # the runner built beside this service (set by the composition root; the runner is
        # handed this service, so one of the two is wired after the other)
        self.starter: JobStarter | None = None

    # -- roots -------------------------------------------------------------------------------
    def root(self, user: User, name: str, method: str | None = None) -> Root:
        """A root the user may use (unknown and forbidden roots look alike: 404)."""
        return self.storage.get(user, name, method)

    # -- jobs --------------------------------------------------------------------------------
    def create_job(self, user: User, req: JobCreate, owner: str | None = None) -> JobOut:
        """Validate and queue a job (202); nothing is written to disk here."""
        username = owner or user.username
        workdir = self.store.scope.directory_for(username)
        if not workdir:
            raise Conflict("this process has no working directory for your jobs; queue them "
                           "through your Jupyter server")
        root = self.root(user, req.source.root, req.method)
        src = clean_relpath(req.source.path, "source.path")
        with fs_errors("source"):
            info = root.info(src)
        is_dir = info.get("type") == "directory"
        if info.get("type") not in ("file", "directory"):
            raise ValidationError("source: only files and directories can be staged")
        with fs_errors("target"):
            target = self._final_target(workdir, req.target, src, root, is_dir)
        if req.method == "symlink":
            if not target:
                raise ValidationError("target: a symlink needs a name")
            with fs_errors("source"):
                check_links_confined(root, src)  # users will follow every link below it
        job = StagingJob(
            id=uuid.uuid4().hex, username=username, root=root.name, source=src,
            target=target, method=req.method, status="queued", root_dir=workdir,
            planned=False, files_total=0, files_done=0, files_skipped=0, files_failed=0,
            bytes_total=0 if is_dir else int(info.get("size") or 0), bytes_done=0,
            created=utcnow())
        starter = self.starter if self.store.scope.serves(job) else None
        slot = starter if starter is not None and starter.reserve() else None
        try:
            with self.db.write() as session:
                session.add(job)
                ev = self.events.record(
                    session, job.username, action="ADD", object_type=OBJECT_TYPE,
                    object_id=job.id, status="WAITING",
                    data={"root": root.name, "source": src, "target": target,
                          "method": req.method},
                    message=f"{req.method} {root.name}:{src or '/'} -> {target or '.'} queued"
                            + (f" by {user.username}" if owner and owner != user.username
                               else ""))
                job.event_id = ev.id
                if slot is not None:
                    self.store.take(session, job)
        except BaseException:
            if slot is not None:
                slot.unreserve()
            raise
        if slot is not None:
            slot.launch(job)
        elif starter is not None:
            starter.wake()
        return to_out(job)

    def _final_target(self, base: str, raw: str, src: str, root: Root, is_dir: bool) -> str:
        target = clean_relpath(raw, "target")
        name = os.path.basename(src) or root.name
        if not is_dir and (not target or raw.endswith("/") or os.path.isdir(
                confine_local(base, target, "target"))):
            target = join_rel(target, name)
        elif is_dir and not target:
            target = name
        confine_local(base, target, "target")
        return target

    def _load(self, session: Session, user: User, job_id: str) -> StagingJob:
        job = session.get(StagingJob, job_id)
        if job is None or (job.username != user.username and not user.is_admin):
            raise NotFound(f"no staging job {job_id}")
        return job

    def get_job(self, user: User, job_id: str) -> JobOut:
        with self.db.read() as session:
            return to_out(self._load(session, user, job_id))

    def list_jobs(self, user: User, query: JobQuery) -> list[JobOut]:
        """The user's jobs, newest first; every job with ``all`` (admins only)."""
        if query.all and not user.is_admin:
            raise Forbidden("only admins may list every user's jobs")
        stmt = select(StagingJob).order_by(StagingJob.created.desc()).limit(query.limit)
        if not query.all:
            stmt = stmt.where(StagingJob.username == user.username)
        if query.status:
            stmt = stmt.where(StagingJob.status.in_(query.status))
        with self.db.read() as session:
            return [to_out(j) for j in session.scalars(stmt)]

    def cancel_job(self, user: User, job_id: str) -> JobOut:
        """Cancel a queued job now, or ask the runner to stop a running one."""
        with self.db.write() as session:
            job = self._load(session, user, job_id)
            if job.status not in ("queued", "running"):
                raise Conflict(f"the job is already {job.status}")
            if job.status == "queued":
                job.status, job.finished = "cancelled", utcnow()
                job.error = f"cancelled by {user.username}"
                job.cancel_requested_by = user.username
                ev = self.store.event(session, job)
                if ev is not None:
                    self.events.transition(session, ev, "ERROR", level="warning",
                                             message=f"cancelled by {user.username}")
            else:  # no version bump: the runner's progress writes must not conflict; the
                # running job reads this at its next progress write (progress_interval)
                session.execute(update(StagingJob).where(StagingJob.id == job_id)
                                .values(cancel_requested_by=user.username)
                                .execution_options(synchronize_session=False))
        return self.get_job(user, job_id)

    def job_log(self, user: User, job_id: str) -> JobLog:
        with self.db.read() as session:
            job = self._load(session, user, job_id)
            ev = self.store.event(session, job)
            failed = session.scalars(failed_files(job_id))
            return JobLog(
                job_id=job.id, status=job.status,  # type: ignore[arg-type]
                entries=[JobLogEntry(time=e.get("time", ""), level=e.get("level", "info"),
                                  message=e.get("message", "")) for e in (ev.log if ev else [])],
                failed_files=[FailedFile(path=f.relpath or os.path.basename(job.source),
                                         error=f.error or "") for f in failed])

    # -- compatibility with the SKAO staging service --------------------------------------------
    def compat_stage(self, user: User, method: str, username: str,
                     body: CompatStageBody) -> JobOut | Download:
        """``POST stage-data``: a job for copy/symlink methods, a Download for direct_download."""
        if username != user.username and not user.is_admin:
            raise Forbidden("username must be the logged-in user")
        if method not in self.compat_methods:
            raise ValidationError(
                f"Method {method!r} not allowed. Allowed methods: {list(self.compat_methods)}")
        job_method = COMPAT_TO_JOB.get(method, "download")
        root = self.storage.compat(user, job_method)
        src = _compat_source(root, body.data.local_path_on_storage)
        if job_method == "download":
            return open_download(root, src)
        req = JobCreate(source=SourceRef(root=root.name, path=src),
                        target=body.data.relative_path, method=job_method)  # type: ignore[arg-type]
        return self.create_job(user, req, owner=username)

    # -- execution (worker thread) -------------------------------------------------------------
    def settings(self) -> Settings:
        return Settings(chunk_size=self.chunk_size, fsync=self.fsync,
                        read_only=self.make_read_only, retries=self.retries,
                        backoff=self.retry_backoff, progress_interval=self.progress_interval,
                        files_in_flight=max(1, self.max_files_in_flight),
                        unnamed=self.unnamed_temp_files,
                        max_bytes_per_second=max(0, self.max_bytes_per_second))

    def run_job(self, job_id: str, flags: Flags, files_pool: Executor,
                copier: BatchCopier | None = None, job: StagingJob | None = None) -> None:
        """Run one claimed job to its end (called by the runner in a job thread); ``job``:
        its row as the claim committed it, when the caller has it."""
        try:
            self._run_job(job_id, flags, files_pool, copier, job)
        except Exception as exc:  # never leave a job running because of a bug
            self.log.exception("staging job %s crashed", job_id)
            self.store.finish(job_id, "failed", f"internal error: {exc}", [])

    def _run_job(self, job_id: str, flags: Flags, files_pool: Executor,
                 copier: BatchCopier | None, job: StagingJob | None) -> None:
        job = job or self.store.load_job(job_id)
        if job is None:
            return
        if job.cancel_requested_by:
            flags.cancelled_by = job.cancel_requested_by
            flags.cancel.set()
        root = self.storage.named(job.root)
        if root is None:
            self.store.finish(job_id, "failed", f"storage root {job.root!r} is gone", [])
            return
        run = JobRun(self.store, job, root, files_pool, self.settings(), flags, copier)
        self._execute(run, flags)

    def _execute(self, run: JobRun, flags: Flags) -> None:
        """Run the job; a run that went to its end writes its last file states and counters
        with its final status, in one transaction."""
        job_id = run.job.id
        try:
            run.run()
        except (Shutdown, LostClaim):  # stopping, or another runner holds the job now
            return
        except Cancelled:  # the counters stay as the last progress write left them
            self.store.finish(job_id, "cancelled", f"cancelled by {flags.cancelled_by or '?'}",
                              run.errors)
            return
        except (AstroOpsError, OSError) as exc:
            msg = exc.message if isinstance(exc, AstroOpsError) else str(exc)
            self.store.finish(job_id, "failed", msg, run.errors)
            return
        except Exception as exc:
            self.log.exception("staging job %s failed", job_id)
            self.store.finish(job_id, "failed", f"internal error: {exc}", run.errors)
            return
        c = run.counts
        summary = f"{c['copied']} copied, {c['skipped']} skipped, {c['failed']} failed"
        if c["failed"]:
            self.store.finish(job_id, "failed", f"{c['failed']} file(s) failed; {summary}",
                              run.errors, run, run.take_pending())
        else:
            self.store.finish(job_id, "succeeded", f"finished: {summary}", [], run,
                              run.take_pending())


def failed_files(job_id: str, limit: int = 1000) -> Select[StagingFile]:
    """The first ``limit`` failed files of a job, by the partial index of failed files."""
    return (select(StagingFile).where(StagingFile.job_id == job_id, StagingFile.state == FAILED)
            .order_by(StagingFile.seq).limit(limit))


def _compat_source(root: Root, raw: str) -> str:
    """The original accepted absolute paths; only those inside the root are kept."""
    if raw.startswith("/") and root.local:
        if not is_within(os.path.normpath(raw), root.base) or ".." in raw.split("/"):
            raise Forbidden("local_path_on_storage: leads outside the storage root")
        raw = os.path.normpath(raw)[len(root.base):].lstrip("/")
    return clean_relpath(raw, "local_path_on_storage")
