"""Staging REST handlers (thin: parse, call the service in a thread, write JSON or stream).

Under ``<base_url>astro-ops/api/v1/``: ``staging/jobs``, ``staging/jobs/<id>``,
``staging/jobs/<id>/log``, ``staging/methods``, ``staging/roots``, ``staging/roots/<root>/ls``,
``staging/download``. SKAO-compatible, directly under ``<base_url>astro-ops/``:
``stage-data/``, ``config/allowed-methods/``, ``create-file/``.
"""

from __future__ import annotations

from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..web.base import AstroOpsHandler, api_path
from .browse import Browser, Download
from .schemas import (
    CompatStageBody,
    CompatStageOut,
    CompatStageQuery,
    CreateFileBody,
    DownloadQuery,
    JobCreate,
    JobQuery,
    LsQuery,
)
from .service import StagingService

JOB_ID = r"(?P<job_id>[0-9a-f]{32})"
ROOT = r"(?P<root>[A-Za-z0-9][A-Za-z0-9_.\-]{0,63})"


class StagingBase(AstroOpsHandler):
    @property
    def staging(self) -> StagingService:
        return self.services.staging.service

    @property
    def browser(self) -> Browser:
        return self.services.staging.browser

    async def stream(self, download: Download) -> None:
        """Send a file in chunks read in a worker thread; flush after each."""
        name = quote(download.filename)
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{name}")
        if download.size is not None:
            self.set_header("Content-Length", str(download.size))
        try:
            while (chunk := await self.call(next, download.chunks, None)) is not None:
                self.write(chunk)
                await self.flush()
        finally:
            close = getattr(download.chunks, "close", None)
            if close is not None:
                await self.call(close)
        self.finish(set_content_type="application/octet-stream")


class JobsHandler(StagingBase):
    """``GET staging/jobs`` (own, or ``?all=1`` for admins) and ``POST`` (202 + job)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.parse_query(JobQuery, lists=("status",))
        self.write_json(await self.call(self.staging.list_jobs, self.astro_user, query))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        req = self.parse_body(JobCreate)
        job = await self.call(self.staging.create_job, self.astro_user, req)
        self.write_json(job, 202, location=self.url_for_api(f"staging/jobs/{job.id}"))


class JobHandler(StagingBase):
    """``GET staging/jobs/<id>``; ``DELETE`` cancels (202 + the job, final status later)."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.write_json(await self.call(self.staging.get_job, self.astro_user, job_id))

    @web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        job = await self.call(self.staging.cancel_job, self.astro_user, job_id)
        self.write_json(job, 202)


class JobLogHandler(StagingBase):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.write_json(await self.call(self.staging.job_log, self.astro_user, job_id))


class MethodsHandler(StagingBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(self.browser.methods(self.astro_user))  # configuration: no thread


class RootsHandler(StagingBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(self.browser.list_roots(self.astro_user))  # configuration: no thread


class LsHandler(StagingBase):
    @web.authenticated
    @authorized
    async def get(self, root: str) -> None:
        query = self.parse_query(LsQuery)
        self.write_json(await self.call(self.browser.ls, self.astro_user, root, query.path))


class DownloadHandler(StagingBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.parse_query(DownloadQuery)
        download = await self.call(self.browser.open_download, self.astro_user, q.root, q.path)
        await self.stream(download)


class CompatStageHandler(StagingBase):
    """``POST astro-ops/stage-data/?method=&username=`` (the original's API)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        query = self.parse_query(CompatStageQuery)
        body = self.parse_body(CompatStageBody)
        result = await self.call(self.staging.compat_stage, self.astro_user, query.method,
                                 query.username, body)
        if isinstance(result, Download):
            await self.stream(result)
            return
        out = CompatStageOut(status="accepted", job=result, message=(
            f"staging job {result.id} queued: {result.source.root}:{result.source.path} "
            f"-> {result.target}"))
        self.write_json(out, 202, location=self.url_for_api(f"staging/jobs/{result.id}"))


class CompatMethodsHandler(StagingBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json(self.browser.compat_allowed_methods(self.astro_user))  # configuration


class CreateFileHandler(StagingBase):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.parse_body(CreateFileBody)
        self.write_json(await self.call(self.browser.create_file, self.astro_user, body), 201)


routes = [
    (api_path("staging/jobs"), JobsHandler),
    (api_path(f"staging/jobs/{JOB_ID}"), JobHandler),
    (api_path(f"staging/jobs/{JOB_ID}/log"), JobLogHandler),
    (api_path("staging/methods"), MethodsHandler),
    (api_path("staging/roots"), RootsHandler),
    (api_path(f"staging/roots/{ROOT}/ls"), LsHandler),
    (api_path("staging/download"), DownloadHandler),
    (r"/astro-ops/stage-data/?", CompatStageHandler),
    (r"/astro-ops/config/allowed-methods/?", CompatMethodsHandler),
    (r"/astro-ops/create-file/?", CreateFileHandler),
]
