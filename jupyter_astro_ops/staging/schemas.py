"""Staging wire models (pydantic): requests, jobs, roots, listings and the SKAO-compatible API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JobMethod = Literal["copy", "symlink"]
CompatMethod = Literal["local_copy", "local_symlink", "direct_download", "jupyter_copy"]
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"  # paths never hold control characters (see staging.paths)


class SourceRef(BaseModel):
    """A path inside a configured storage root (``""`` is the root itself)."""

    model_config = ConfigDict(extra="forbid")

    root: str = Field(min_length=1, max_length=64)
    path: str = Field(default="", max_length=4096, pattern=NO_CONTROL)


class JobCreate(BaseModel):
    """``POST staging/jobs``: stage ``source`` into ``<root_dir>/<target>``."""

    model_config = ConfigDict(extra="forbid")

    source: SourceRef
    target: str = Field(default="", max_length=4096, pattern=NO_CONTROL, description=(
        "Relative path inside the user's working directory. For a directory source it is the "
        "directory that receives the tree; for a file, the new file's path ('' or a trailing "
        "'/' keeps the source name)."))
    method: JobMethod = "copy"


class JobOut(BaseModel):
    """A staging job with its progress."""

    id: str
    username: str
    source: SourceRef
    target: str
    method: str
    status: JobStatus
    files_total: int
    files_done: int = Field(description="Files finished: copied, skipped or failed.")
    files_copied: int
    files_skipped: int
    files_failed: int
    bytes_total: int
    bytes_done: int
    progress: float = Field(description="Fraction of bytes done, 0..1.")
    rate_bytes_per_s: float | None
    eta_seconds: float | None
    error: str | None
    event_id: str | None
    cancel_requested_by: str | None
    created: datetime
    started: datetime | None
    finished: datetime | None


class JobQuery(BaseModel):
    """``GET staging/jobs?all=1&status=running&limit=100``."""

    model_config = ConfigDict(extra="forbid")

    all: bool = Field(default=False, description="Every user's jobs (admins only).")
    status: list[JobStatus] = Field(default_factory=list, max_length=10, description=(
        "Only jobs in these statuses (repeats or commas)."))
    limit: int = Field(default=200, ge=1, le=1000, description="Page size.")


class JobLogEntry(BaseModel):
    time: str
    level: str
    message: str


class FailedFile(BaseModel):
    path: str
    error: str


class JobLog(BaseModel):
    """``GET staging/jobs/<id>/log``: the job's event log and the files that failed."""

    job_id: str
    status: JobStatus
    entries: list[JobLogEntry]
    failed_files: list[FailedFile]


class RootOut(BaseModel):
    """A storage root the user may use (no URL options: they may hold credentials)."""

    name: str
    protocol: str
    local: bool
    methods: list[str]
    writable: bool
    description: str


class MethodsOut(BaseModel):
    """``GET staging/methods``: methods the user may use on at least one root."""

    methods: list[str]
    compat_methods: list[str]


class LsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(default="", max_length=4096, pattern=NO_CONTROL)


class LsEntry(BaseModel):
    name: str
    path: str
    type: Literal["file", "directory", "other"]
    size: int | None


class LsOut(BaseModel):
    root: str
    path: str
    entries: list[LsEntry]


class DownloadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    root: str = Field(min_length=1, max_length=64)
    path: str = Field(min_length=1, max_length=4096, pattern=NO_CONTROL)


class CompatData(BaseModel):
    """The original service's body: a source below the compat root and a target below home."""

    local_path_on_storage: str = Field(max_length=4096, pattern=NO_CONTROL)
    relative_path: str = Field(default="", max_length=4096, pattern=NO_CONTROL)


class CompatStageBody(BaseModel):
    data: CompatData


class CompatStageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")  # the original also accepted jupyter_token

    method: str = Field(max_length=32, description=(
        "One of the allowed methods (GET config/allowed-methods/); another is a 400 with the "
        "original service's message."))
    username: str = Field(min_length=1, max_length=128)


class CompatStageOut(BaseModel):
    """Answer of ``POST astro-ops/stage-data/`` for job methods (202)."""

    status: str
    message: str
    job: JobOut


class CompatMethodsOut(BaseModel):
    allowed_methods: list[str]


class CreateFileBody(BaseModel):
    """``POST astro-ops/create-file/``: write a small text file into a writable root."""

    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=4096, pattern=NO_CONTROL)
    content: str = Field(default="", max_length=512 << 10)
    root: str | None = Field(default=None, min_length=1, max_length=64,
                             description="Default: the compat root.")


class CreateFileOut(BaseModel):
    root: str
    path: str
    size: int
