"""Staging dashboard, data side: ``StagingSource`` and the formatting of table rows.

``StagingSource`` is the blocking data access for one user through ``StagingService`` (roots,
``ls``, jobs, logs, create-file; every rule, confinement and ownership included, stays in the
service). ``job_row``/``listing_row`` turn wire models into table rows. The Viewer is
``staging_view.StagingDashboard`` (it runs these calls through ``tasks.run_blocking``).

Jobs are executed by the Jupyter server's job runner (it polls the shared database for queued
jobs). A standalone ``panel serve`` has no such server, so the dashboard process runs the
runner itself then (``Context.feed`` starts it when ``behind_jupyter`` is false).
"""

from __future__ import annotations

import logging
from typing import Any

from ..compose import StagingParts
from ..core.identity import User
from ..staging.schemas import (
    CreateFileBody,
    CreateFileOut,
    JobCreate,
    JobLog,
    JobLogEntry,
    JobOut,
    JobQuery,
    LsEntry,
    LsOut,
    RootOut,
    SourceRef,
)
from .text import human_bytes, human_duration, plural

log = logging.getLogger(__name__)
FINAL = ("succeeded", "failed", "cancelled")
JOB_METHODS = ("copy", "symlink")  # "download" is a browser download, not a job
TIME_FMT = "%d %b %H:%M:%S"


class StagingSource:
    """Blocking data access for one user; every rule is the service's."""

    def __init__(self, staging: StagingParts, user: User, *, max_jobs: int = 200) -> None:
        self.service = staging.service
        self.browser = staging.browser
        self.user = user
        self.max_jobs = max_jobs

    def roots(self) -> list[RootOut]:
        return self.browser.list_roots(self.user)

    def ls(self, root: str, path: str) -> LsOut:
        return self.browser.ls(self.user, root, path)

    def jobs(self) -> list[JobOut]:
        """The user's own jobs, newest first (admins too: the dashboard is personal)."""
        return self.service.list_jobs(self.user, JobQuery(limit=self.max_jobs))

    def job(self, job_id: str) -> JobOut:
        return self.service.get_job(self.user, job_id)

    def start(self, root: str, source: str, target: str, method: str) -> JobOut:
        req = JobCreate(source=SourceRef(root=root, path=source), target=target,
                        method=method)  # type: ignore[arg-type]
        return self.service.create_job(self.user, req)

    def cancel(self, job_id: str) -> JobOut:
        return self.service.cancel_job(self.user, job_id)

    def log(self, job_id: str) -> JobLog:
        return self.service.job_log(self.user, job_id)

    def create_file(self, root: str, filename: str, content: str) -> CreateFileOut:
        body = CreateFileBody(filename=filename, content=content, root=root)
        return self.browser.create_file(self.user, body)


def job_row(job: JobOut) -> dict[str, Any]:
    """One row of the jobs table (two progress columns in percent: files and bytes)."""
    files_pct = 100.0 * job.files_done / job.files_total if job.files_total else (
        100.0 if job.status == "succeeded" else 0.0)
    return {
        "created": job.created.strftime(TIME_FMT), "what": job_title(job, method=False),
        "status": job.status,
        "source": f"{job.source.root}:{job.source.path or '/'}", "target": job.target,
        "method": job.method, "files": f"{job.files_done}/{job.files_total}",
        "files_pct": round(files_pct, 1),
        "bytes": f"{human_bytes(job.bytes_done)} / {human_bytes(job.bytes_total)}",
        "bytes_pct": round(100.0 * job.progress, 1),
        "rate": f"{human_bytes(int(job.rate_bytes_per_s))}/s" if job.rate_bytes_per_s else "",
        "eta": human_duration(job.eta_seconds) if job.status == "running" else "",
        "error": job.error or "",
    }


def job_title(job: JobOut, method: bool = True) -> str:
    """``archive:night1 → night1 (copy)``: a job as people name it (no id)."""
    what = f"{job.source.root}:{job.source.path or '/'} → {job.target or '.'}"
    return f"{what} ({job.method})" if method else what


def dir_summary(out: LsOut) -> str:
    """``3 files (6.0 MiB), 1 folder``: what a directory holds at its top level."""
    files = [e for e in out.entries if e.type == "file"]
    dirs = sum(1 for e in out.entries if e.type == "directory")
    if not out.entries:
        return "empty"
    parts = []
    if files:
        total = sum(e.size or 0 for e in files)
        parts.append(f"{plural(len(files), 'file')} ({human_bytes(total)})")
    if dirs:
        parts.append(plural(dirs, "folder"))
    return ", ".join(parts)


def listing_row(entry: LsEntry) -> dict[str, Any]:
    """One row of the listing; a folder reads "folder" until selected (then its summary)."""
    folder = entry.type == "directory"
    return {"name": entry.name + ("/" if folder else ""), "type": entry.type,
            "size": "folder" if folder else human_bytes(entry.size), "path": entry.path}


def log_lines(entries: list[JobLogEntry] | list[Any]) -> str:
    """A job's log as plain text lines (``time level message``)."""
    out = []
    for e in entries:
        stamp = str(getattr(e, "time", ""))[:19].replace("T", " ")
        out.append(f"{stamp}  {getattr(e, 'level', 'info')!s:7} {getattr(e, 'message', '')}")
    return "\n".join(out)


def parent(path: str) -> str:
    """The parent of a root-relative path (``""`` is the root)."""
    return path.rsplit("/", 1)[0] if "/" in path else ""


def path_label(path: str) -> str:
    """The directory shown, as Markdown."""
    return f"**/{path}**"
