"""Running one job (in a worker thread): plan, copy files through a bounded pool, record progress.

The database is the job's memory: the plan is stored as ``StagingFile`` rows before the first
byte is copied, each verified file is marked ``done`` with its checksum (in batches, about once
per ``progress_interval``), so a job whose server died resumes with only what is left. On
resume, files marked done are re-hashed at the target and copied again if they differ.
Progress goes to the job row and, as ``data`` without a log line, to its activity event.
Small files go to the pool in groups (``take_group``): one thread hand-off per group. From a
local root a group is first copied as one batch (``batch.copy_batch``, in a worker process
when the job has many small files: ``workers.CopyWorkers``); a file the batch leaves
(``AGAIN``) is copied alone through ``Transfer``, with its own retries, verification and
outcome. Where each file comes from and goes, confined once per directory: ``places.Places``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass
from typing import Any, Protocol

from ..core.errors import AstroOpsError
from .batch import AGAIN, Batch, Result, Run, copy_batch
from .fsops import tmpfile_works
from .jobstore import PlannedFile
from .models import StagingJob
from .paths import join_rel, makedirs_confined
from .places import Places
from .plan import check_links_confined, plan_source
from .roots import Root
from .throttle import Throttle
from .transfer import (
    Cancelled,
    FileResult,
    IntegrityError,
    Transfer,
    hash_local,
    make_symlink,
)
from .workers import usable_cpus

PERMANENT = (PermissionError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
             IntegrityError, AstroOpsError)
SMALL_FILE = 1 << 20  # files up to this size travel in groups
# at most this many files per group (a worker's batch: 10,000 x 16 KiB on tmpfs copied in
# 437-513 ms with 256, 562-595 ms with 64, whose answer and next batch left the workers idle
# more often; 128 and 512 were no better than 256) ...
GROUP_FILES = 256
GROUP_BYTES = 8 << 20  # ... and this many bytes
Outcome = FileResult | BaseException


def take_group(queue: list[PlannedFile]) -> list[PlannedFile]:
    """Pop the next unit of work from the end of ``queue``: one large file, or a run of small
    files (up to ``GROUP_FILES`` / ``GROUP_BYTES``), so small files cost one thread hand-off
    per group instead of one each."""
    group = [queue.pop()]
    if group[0].size > SMALL_FILE:
        return group
    total = group[0].size
    while (queue and len(group) < GROUP_FILES and queue[-1].size <= SMALL_FILE
           and total + queue[-1].size <= GROUP_BYTES):
        total += queue[-1].size
        group.append(queue.pop())
    return group


class BatchCopier(Protocol):
    """Where batches of small files can go besides the job's own thread (the worker
    processes, ``workers.CopyWorkers``)."""

    @property
    def capacity(self) -> int:
        """How many batches it takes at once."""

    def wanted(self, small_files: int) -> bool: ...

    def copy(self, batch: Batch) -> list[Result] | None: ...


class Shutdown(Exception):
    """The server is stopping: leave the job running in the database, to resume later."""


@dataclass
class Flags:
    """Signals from outside the worker thread."""

    cancel: threading.Event
    shutdown: threading.Event
    cancelled_by: str | None = None

    def check(self) -> None:
        if self.shutdown.is_set():
            raise Shutdown()
        if self.cancel.is_set():
            raise Cancelled()


@dataclass
class Settings:
    chunk_size: int
    fsync: bool
    read_only: bool
    retries: int
    backoff: float
    progress_interval: float
    files_in_flight: int
    unnamed: bool = True
    max_bytes_per_second: float = 0.0


class JobRun:
    """Execute the job ``job_id``; ``store`` is the service (DB + activity helpers)."""

    def __init__(self, store: Any, job: StagingJob, root: Root, files_pool: Executor,
                 settings: Settings, flags: Flags, copier: BatchCopier | None = None) -> None:
        self.store, self.job, self.root = store, job, root
        self.pool, self.s, self.flags = files_pool, settings, flags
        self.places = Places(root, job)
        self.base = self.places.base
        self.tag = job.id[:12]
        # temporary files of this job can exist only if it copied before: it was planned
        # (the plan is stored before the first byte); a fresh job skips their removal
        self.resumed = bool(job.planned)
        self.copier = copier
        # small local files are copied in batches: they need unnamed temporary files (a batch
        # leaves no named one behind, and removes none: a resumed job goes file by file), no
        # bandwidth cap (it paces per chunk)
        self.batches = (root.local and settings.unnamed and settings.max_bytes_per_second <= 0
                        and not self.resumed)
        self.use_copier = False  # decided when the files to copy are known
        self._lock = threading.Lock()
        self._pending: list[tuple[Any, ...]] = []  # jobstore.FILE_STATE each
        self.counts = {"copied": 0, "skipped": 0, "failed": 0, "bytes": 0}
        self.errors: list[str] = []
        self.throttle = Throttle(settings.max_bytes_per_second, self._pause)
        # local copies are CPU-bound: one group per CPU (10,000 x 16 KiB on 2 CPUs, 2 vs 4
        # in flight: 2.5-4.5 s vs 3.0-7.7 s, fewer GIL hand-offs and less kernel contention)
        self.in_flight = (min(settings.files_in_flight, usable_cpus()) if root.local
                          else settings.files_in_flight)

    def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` for the bandwidth cap, ending early on shutdown or cancel."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.flags.shutdown.wait(min(left, 0.1))
            self.flags.check()

    # -- the whole run -------------------------------------------------------------------------
    def run(self) -> None:
        if self.job.method == "symlink":
            self._symlink()
            return
        # a fresh plan: every file is pending, no need to read it back
        self._execute(self._load_todo() if self.job.planned else self._plan())

    def _symlink(self) -> None:
        check_links_confined(self.root, self.job.source)  # again: the tree may have changed
        src = self.root.path(self.job.source)
        parent, name = os.path.split(self.job.target)
        directory = makedirs_confined(self.base, parent)
        self.flags.check()
        result = make_symlink(src, os.path.join(directory, name))
        self.counts["copied" if result.state == "done" else "skipped"] = 1

    def _plan(self) -> list[PlannedFile]:
        info = self.root.info(self.job.source)
        plan = plan_source(self.root, self.job.source, info.get("type") == "directory")
        files = [PlannedFile(self.job.id, i, rel, size, "pending", None)
                 for i, (rel, size) in enumerate(plan.files)]
        self.store.save_plan(self.job.id, files, plan.total_bytes, plan.skipped)
        return files

    def _load_todo(self) -> list[PlannedFile]:
        files = self.store.load_files(self.job.id)
        todo: list[PlannedFile] = []
        done: list[PlannedFile] = []
        for f in files:
            (done if f.state in ("done", "skipped") else todo).append(f)
        self.counts["copied"] = sum(1 for f in done if f.state == "done")
        self.counts["skipped"] = sum(1 for f in done if f.state == "skipped")
        self.counts["bytes"] = sum(f.size for f in done)
        stale = [f for f in done if not self._still_valid(f)]
        for f in stale:
            self.counts["copied" if f.state == "done" else "skipped"] -= 1
            self.counts["bytes"] -= f.size
        return stale + todo

    def _still_valid(self, f: PlannedFile) -> bool:
        if not self.job.started or f.checksum is None:
            return True  # a fresh job: nothing to re-verify
        found = hash_local(self.places.dst(f.relpath), self.s.chunk_size)
        return found is not None and found == (f.size, f.checksum)

    # -- the file pipeline ---------------------------------------------------------------------
    def _execute(self, todo: list[PlannedFile]) -> None:
        if self.batches and self.copier is not None:
            self.use_copier = self.copier.wanted(sum(1 for f in todo if f.size <= SMALL_FILE))
            if self.use_copier:  # a batch waiting for a worker holds no CPU here
                self.in_flight = min(self.s.files_in_flight, self.copier.capacity)
        inflight: dict[Future[list[Outcome]], list[PlannedFile]] = {}
        queue = list(reversed(todo))
        last = time.monotonic()
        try:
            while queue or inflight:
                while queue and len(inflight) < self.in_flight:
                    group = take_group(queue)
                    inflight[self.pool.submit(self._copy_group, group)] = group
                finished, _ = wait(list(inflight), timeout=self.s.progress_interval,
                                   return_when=FIRST_COMPLETED)
                for fut in finished:
                    self._collect(inflight.pop(fut), fut)
                if time.monotonic() - last >= self.s.progress_interval:
                    last = time.monotonic()
                    self._flush()
        finally:
            if inflight:  # stop the files still in flight before leaving
                if not self.flags.shutdown.is_set():
                    self.flags.cancel.set()
                wait(list(inflight))

    def _copy_group(self, group: list[PlannedFile]) -> list[Outcome]:
        """Copy the files of a group in one pool thread (small files: one hand-off per group,
        not per file): a batch first when it can, then one by one what it left. A cancel or
        shutdown ends the group."""
        batched = (self._batch(group) if self.batches and group[0].size <= SMALL_FILE
                   else [None] * len(group))
        out: list[Outcome] = []
        for f, done in zip(group, batched, strict=True):
            if done is not None:
                out.append(done)
                continue
            try:
                out.append(self._copy_one(f))
            except (Cancelled, Shutdown):
                raise
            except Exception as exc:  # this file failed; the others go on
                out.append(exc)
        return out

    def _batch(self, group: list[PlannedFile]) -> list[FileResult | None]:
        """Copy what ``batch.copy_batch`` can of ``group`` (``None``: left for ``Transfer``),
        in a worker process if the job uses them and one is free, else in this thread."""
        self.flags.check()
        runs: list[Run] = []
        places: list[int | None] = []  # the index of each file among the batch's names
        count = 0
        for f in group:
            src_dir, _, name = join_rel(self.job.source, f.relpath).rpartition("/")
            directory, target_name = self.places.target_of(f.relpath)
            if target_name != name or not tmpfile_works(directory):
                places.append(None)  # renamed single file, or no O_TMPFILE there
                continue
            source = self.places.source_dir(src_dir)
            if not runs or runs[-1].source != source or runs[-1].target != directory:
                runs.append(Run(source, directory, [], directory in self.places.fresh))
            runs[-1].names.append(name)
            places.append(count)
            count += 1
        if not runs:
            return [None] * len(group)
        batch = Batch(self.root.base, self.base, runs, SMALL_FILE, self.s.read_only,
                      self.s.fsync)
        results = ((self.copier.copy(batch) if self.use_copier and self.copier else None)
                   or copy_batch(batch, self.flags.check))
        self.flags.check()  # a worker's batch runs to its end: a cancel counts from here
        out: list[FileResult | None] = []
        copied = 0
        for place in places:
            state, size, checksum = results[place] if place is not None else (AGAIN, 0, "")
            if state == AGAIN:
                out.append(None)
                continue
            out.append(FileResult(state, size, checksum))
            copied += size
        with self._lock:
            self.counts["bytes"] += copied
        return out

    def _collect(self, group: list[PlannedFile], fut: Future[list[Outcome]]) -> None:
        exc = fut.exception()
        if isinstance(exc, Cancelled | Shutdown):
            raise exc
        outcomes: list[Outcome] = [exc] * len(group) if exc is not None else fut.result()
        for f, outcome in zip(group, outcomes, strict=True):
            self._collect_one(f, outcome)

    def _collect_one(self, f: PlannedFile, outcome: Outcome) -> None:
        if isinstance(outcome, BaseException):
            self.counts["failed"] += 1
            message = f"{f.relpath or os.path.basename(self.job.source)}: {outcome}"
            self.errors.append(message)
            self._pending.append((f.size, None, "failed", str(outcome)[:2000], f.job_id, f.seq))
            return
        res = outcome
        self.counts["copied" if res.state == "done" else "skipped"] += 1
        if res.state == "skipped":
            with self._lock:
                self.counts["bytes"] += res.size
        self._pending.append((res.size, res.checksum, res.state, None, f.job_id, f.seq))

    def take_pending(self) -> list[tuple[Any, ...]]:
        """The file states not written yet (the job's final write takes them)."""
        batch, self._pending = self._pending, []
        return batch

    def _flush(self) -> None:
        self.flags.cancelled_by = self.store.progress(self, self.take_pending())
        if self.flags.cancelled_by:
            self.flags.cancel.set()
        self.flags.check()

    # -- one file, with retries ----------------------------------------------------------------
    def _copy_one(self, f: PlannedFile) -> FileResult:
        attempt = 0
        while True:
            sent = [0]
            self.flags.check()
            try:
                return self._attempt(f, sent, leftovers=self.resumed or attempt > 0)
            except (Cancelled, Shutdown, *PERMANENT):
                self._unsend(sent[0])
                raise
            except OSError:
                self._unsend(sent[0])
                if attempt >= self.s.retries:
                    raise
            if self.flags.shutdown.wait(self.s.backoff * (2 ** attempt)):
                raise Shutdown()
            attempt += 1

    def _unsend(self, n: int) -> None:
        with self._lock:
            self.counts["bytes"] -= n

    def _attempt(self, f: PlannedFile, sent: list[int], leftovers: bool = True) -> FileResult:
        def on_bytes(n: int) -> None:
            sent[0] += n
            with self._lock:
                self.counts["bytes"] += n
            self.throttle.sent(n)

        directory, name = self.places.target_of(f.relpath)
        t = Transfer(chunk_size=self.s.chunk_size, fsync=self.s.fsync, read_only=self.s.read_only,
                     tag=self.tag, check=self.flags.check, on_bytes=on_bytes,
                     unnamed=self.s.unnamed, leftovers=leftovers)
        src_rel = join_rel(self.job.source, f.relpath)
        if self.root.local:
            fd_src = self.places.open_local_source(src_rel)
            try:
                return t.copy_local_fd(fd_src, directory, name)
            finally:
                os.close(fd_src)
        full = self.root.path(src_rel)
        opener: Callable[[], Any] = lambda: self.root.fs.open(  # noqa: E731
            full, "rb", block_size=self.s.chunk_size)
        return t.copy_stream(opener, directory, name, f.size)
