"""``Job``: a staging job on the server, with ``wait()`` showing tqdm progress (files and bytes).

A job is a snapshot of ``GET staging/jobs/<id>`` (validated as the server's ``JobOut``) plus
the client that refreshes it. ``wait()`` follows the job's ``STAGING_JOB`` activity event over
the live websocket (progress arrives as the server writes it, no polling); only if the socket
cannot be opened, or drops for good, does it fall back to polling the REST API. The bars come
from ``tqdm.auto``, so they render as widgets in JupyterLab and as text in a terminal.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from ..activity.schemas import EventFilter
from ..activity.states import FINAL as FINAL_EVENT_STATUSES
from .errors import AstroOpsError, ConnectionFailed, JobFailed
from .live import LiveFeed

FINAL = frozenset({"succeeded", "failed", "cancelled"})
EVENT_TYPE = "STAGING_JOB"
PROGRESS_FIELDS = ("files_done", "files_total", "bytes_done", "bytes_total", "files_failed",
                   "files_skipped")


class JobClient(Protocol):
    """What a ``Job`` asks of the client (``AstroOps``)."""

    def get_job(self, job_id: str) -> dict[str, Any]: ...
    def cancel_job(self, job_id: str) -> dict[str, Any]: ...
    def job_log(self, job_id: str) -> dict[str, Any]: ...
    def live_feed(self) -> LiveFeed: ...


class Job:
    """One staging job; attributes mirror the server's ``JobOut`` (``job.data`` holds all)."""

    def __init__(self, client: JobClient, data: dict[str, Any]) -> None:
        self._client = client
        self.data: dict[str, Any] = dict(data)

    # -- fields ----------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def status(self) -> str:
        """``queued``, ``running``, ``succeeded``, ``failed`` or ``cancelled``."""
        return str(self.data.get("status", ""))

    @property
    def done(self) -> bool:
        """True once the job has finished, whatever the outcome."""
        return self.status in FINAL

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def files_done(self) -> int | None:
        return self.data.get("files_done")

    @property
    def files_total(self) -> int | None:
        return self.data.get("files_total")

    @property
    def bytes_done(self) -> int | None:
        return self.data.get("bytes_done")

    @property
    def bytes_total(self) -> int | None:
        return self.data.get("bytes_total")

    @property
    def message(self) -> str:
        return str(self.data.get("error") or "")

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __repr__(self) -> str:
        parts = [f"id={self.id!r}", f"status={self.status!r}"]
        if self.files_total is not None:
            parts.append(f"files={self.files_done or 0}/{self.files_total}")
        if self.bytes_total is not None:
            parts.append(f"bytes={self.bytes_done or 0}/{self.bytes_total}")
        return f"Job({', '.join(parts)})"

    # -- actions ---------------------------------------------------------------------------
    def refresh(self) -> Job:
        """Fetch the current state from the server; returns ``self``."""
        self.data = self._client.get_job(self.id)
        return self

    def cancel(self) -> Job:
        """Ask the server to cancel the job (answered with the job); returns ``self``."""
        self.data = self._client.cancel_job(self.id)
        return self

    def log(self) -> list[dict[str, Any]]:
        """The job's log lines (``{time, level, message}`` entries)."""
        return list(self._client.job_log(self.id)["entries"])

    def failed_files(self) -> list[dict[str, Any]]:
        """``[{"path", "error"}, ...]`` for the files that could not be staged."""
        return list(self._client.job_log(self.id)["failed_files"])

    def wait(self, progress: bool = True, timeout: float | None = None,
             interval: float = 0.2, max_interval: float = 1.0,
             reconnect_timeout: float = 60.0) -> Job:
        """Block until the job ends; raise ``JobFailed`` unless it succeeded.

        ``progress`` shows tqdm bars for files and bytes; ``timeout`` (seconds) raises
        ``TimeoutError`` and leaves the job running. Progress comes over the live websocket;
        when that is unavailable the job is polled (every ``interval`` up to
        ``max_interval`` seconds), and while the server is unreachable (being restarted:
        jobs resume there) polling goes on for up to ``reconnect_timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        bars = _Bars(self) if progress else None
        try:
            if not self.done:
                try:
                    self._follow_live(bars, deadline)
                except ConnectionFailed:
                    self._poll(bars, deadline, interval, max_interval, reconnect_timeout)
        finally:
            if bars:
                bars.close(self)
        if not self.ok:
            raise self._failure()
        return self

    def _follow_live(self, bars: _Bars | None, deadline: float | None) -> None:
        flt = EventFilter(object_type=[EVENT_TYPE], object_id=self.id)
        with self._client.live_feed() as feed:
            # since=0: the replay starts with the event's current state, so nothing that
            # happened between ``stage()`` and this subscription is missed.
            for event in feed.events(flt, since=0, timeout=0.5):
                self._check_deadline(deadline)
                if event is None:
                    continue
                self.data.update({k: event.data[k] for k in PROGRESS_FIELDS if k in event.data})
                if event.status in FINAL_EVENT_STATUSES:
                    self.refresh()  # the job row changed in the same transaction
                    return
                if bars:
                    bars.update(self)

    def _poll(self, bars: _Bars | None, deadline: float | None, interval: float,
              max_interval: float, reconnect_timeout: float) -> None:
        unreachable_since: float | None = None
        while not self.done:
            if bars:
                bars.update(self)
            self._check_deadline(deadline)
            time.sleep(interval)
            interval = min(max_interval, interval * 1.5)
            try:
                self.refresh()
                unreachable_since = None
            except ConnectionFailed:
                unreachable_since = unreachable_since or time.monotonic()
                if time.monotonic() - unreachable_since > reconnect_timeout:
                    raise

    def _check_deadline(self, deadline: float | None) -> None:
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"staging job {self.id} still {self.status!r} after the "
                               "timeout")

    def _failure(self) -> JobFailed:
        try:
            failed = self.failed_files()
        except AstroOpsError:
            failed = []
        return JobFailed(f"staging job {self.id} {self.status}: {self.message or 'no detail'}",
                         job=self, reason=self.status, status=0,
                         details={"error": self.data.get("error"), "failed_files": failed})


class _Bars:
    """Two tqdm bars (files, bytes) kept in step with a job's counters.

    Totals are unknown (0) while the job is queued or being planned; the bars start without a
    total and ``reset`` to the real one once the server knows it (``reset`` is what updates
    the widget's maximum in a notebook).
    """

    def __init__(self, job: Job) -> None:
        from tqdm.auto import tqdm

        self.files = tqdm(total=self._known(job, job.files_total), unit="file",
                          desc=f"{job.id[:8]} files", leave=True)
        self.bytes = tqdm(total=self._known(job, job.bytes_total), unit="B", unit_scale=True,
                          unit_divisor=1024, desc=f"{job.id[:8]} bytes", leave=True)

    @staticmethod
    def _known(job: Job, total: int | None) -> int | None:
        return total if total or job.done else None

    @staticmethod
    def _step(bar: Any, done: int | None, total: int | None) -> None:
        if total is not None and bar.total != total:
            bar.reset(total=total)
        if done is not None and done != bar.n:
            bar.n = done
        bar.refresh()

    def update(self, job: Job) -> None:
        self._step(self.files, job.files_done, self._known(job, job.files_total))
        self._step(self.bytes, job.bytes_done, self._known(job, job.bytes_total))
        self.files.set_postfix_str(job.status, refresh=True)

    def close(self, job: Job) -> None:
        self.update(job)
        self.files.close()
        self.bytes.close()


__all__ = ["FINAL", "Job", "JobClient"]
