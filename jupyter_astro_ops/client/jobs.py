"""``Job``: a staging job on the server, with ``wait()`` showing tqdm progress (files and bytes).

A job is a snapshot of ``GET staging/jobs/<id>`` plus the client to refresh it. Progress is
polled (with a gentle back-off up to ``max_interval``); the bars come from ``tqdm.auto``, so they
render as widgets in JupyterLab and as text in a terminal.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .errors import AstroOpsError, ConnectionFailed, JobFailed

if TYPE_CHECKING:
    from .api import AstroOps

SUCCESS_STATES = frozenset({"success", "succeeded", "done", "completed", "complete",
                            "finished", "warning", "skipped"})
FAILURE_STATES = frozenset({"error", "failed", "failure", "cancelled", "canceled", "denied",
                            "aborted"})


def _lookup(data: dict[str, Any], *keys: str) -> Any:
    """First present key, at the top level or inside ``progress`` / ``totals``."""
    for scope in (data, data.get("progress"), data.get("totals")):
        if isinstance(scope, dict):
            for key in keys:
                if scope.get(key) is not None:
                    return scope[key]
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class Job:
    """One staging job; attributes mirror the server's JSON (``job.data`` holds all of it)."""

    def __init__(self, client: AstroOps, data: dict[str, Any]) -> None:
        self._client = client
        self.data: dict[str, Any] = dict(data)

    # -- fields ----------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return str(self.data.get("id") or self.data.get("job_id"))

    @property
    def status(self) -> str:
        return str(self.data.get("status") or "").lower()

    @property
    def done(self) -> bool:
        """True once the job has finished, whatever the outcome."""
        return self.status in SUCCESS_STATES or self.status in FAILURE_STATES

    @property
    def ok(self) -> bool:
        return self.status in SUCCESS_STATES

    @property
    def files_done(self) -> int | None:
        return _int(_lookup(self.data, "files_done", "done_files", "files_copied"))

    @property
    def files_total(self) -> int | None:
        return _int(_lookup(self.data, "files_total", "total_files", "file_count"))

    @property
    def bytes_done(self) -> int | None:
        return _int(_lookup(self.data, "bytes_done", "done_bytes", "bytes_copied"))

    @property
    def bytes_total(self) -> int | None:
        return _int(_lookup(self.data, "bytes_total", "total_bytes", "size"))

    @property
    def message(self) -> str:
        msg = self.data.get("message") or self.data.get("error") or ""
        errors = self.data.get("errors")
        if not msg and errors:
            first = errors[0]
            msg = first.get("message", str(first)) if isinstance(first, dict) else str(first)
        return str(msg)

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
        self.data = self._client._get_json(f"staging/jobs/{self.id}")
        return self

    def cancel(self) -> Job:
        """Ask the server to cancel the job, then refresh it."""
        resp = self._client._request("DELETE", f"staging/jobs/{self.id}")
        body = resp.json() if resp.content else None
        if isinstance(body, dict) and body.get("id"):
            self.data = body
            return self
        return self.refresh()

    def _log_body(self) -> Any:
        return self._client._get_json(f"staging/jobs/{self.id}/log")

    def log(self) -> list[Any]:
        """The job's log lines (``{time, level, message}`` entries)."""
        body = self._log_body()
        if isinstance(body, dict):
            for key in ("entries", "log", "lines", "items"):
                if isinstance(body.get(key), list):
                    return list(body[key])
        return list(body) if isinstance(body, list) else [body]

    def failed_files(self) -> list[dict[str, Any]]:
        """``[{"path", "error"}, ...]`` for the files that could not be staged."""
        body = self._log_body()
        return list(body.get("failed_files") or []) if isinstance(body, dict) else []

    def wait(self, progress: bool = True, timeout: float | None = None,
             interval: float = 0.2, max_interval: float = 1.0,
             reconnect_timeout: float = 60.0) -> Job:
        """Block until the job ends; raise ``JobFailed`` unless it succeeded.

        ``progress`` shows tqdm bars for files and bytes; ``timeout`` (seconds) raises
        ``TimeoutError`` and leaves the job running. While the server is unreachable (being
        restarted: jobs resume there) polling goes on for up to ``reconnect_timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        bars = _Bars(self) if progress else None
        unreachable_since: float | None = None
        try:
            while True:
                if bars:
                    bars.update(self)
                if self.done:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"staging job {self.id} still {self.status!r} "
                                       f"after {timeout} s")
                time.sleep(interval)
                interval = min(max_interval, interval * 1.5)
                try:
                    self.refresh()
                    unreachable_since = None
                except ConnectionFailed:
                    unreachable_since = unreachable_since or time.monotonic()
                    if time.monotonic() - unreachable_since > reconnect_timeout:
                        raise
        finally:
            if bars:
                bars.close(self)
        if not self.ok:
            raise self._failure()
        return self

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
