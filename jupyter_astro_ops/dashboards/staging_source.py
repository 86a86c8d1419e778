"""Staging dashboard, data side: ``StagingSource``.

``StagingSource`` is the blocking data access for one user through ``StagingService`` (roots,
``ls``, jobs, logs, create-file; every rule, confinement and ownership included, stays in the
service). How rows read is ``staging_text``. The Viewer is ``staging_view.StagingDashboard``
(it runs these calls through ``tasks.run_blocking``).

Jobs are executed by the Jupyter server's job runner (it polls the shared database for queued
jobs). A standalone ``panel serve`` has no such server, so the dashboard process runs the
runner itself then (``Context.feed`` starts it when ``behind_jupyter`` is false).
"""

from __future__ import annotations

import logging

from ..compose import StagingParts
from ..core.identity import User
from ..staging.schemas import (
    CreateFileBody,
    CreateFileOut,
    JobCreate,
    JobLog,
    JobOut,
    JobQuery,
    LsOut,
    RootOut,
    SourceRef,
)

log = logging.getLogger(__name__)
FINAL = ("succeeded", "failed", "cancelled")
JOB_METHODS = ("copy", "symlink")  # "download" is a browser download, not a job


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
