"""Wire models of the activity domain (pydantic); ORM rows never leave the service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.wire import Cursor, Id
from .states import Action, Status


class ObjectRef(BaseModel):
    type: str = Field(min_length=1, max_length=32, pattern=r"^[A-Z][A-Z_]*$")
    id: str | None = Field(default=None, max_length=128)


class LogEntry(BaseModel):
    time: datetime
    level: Literal["debug", "info", "warning", "error"]
    message: str


class EventOut(BaseModel):
    """An activity event as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    seq: int
    action: Action
    object: ObjectRef
    user: str
    user_name: str = Field(default="", description=(
        "Display name of the acting user when the event was written (from the login); "
        "empty for a system actor such as an importer."))
    project_id: int | None
    status: Status
    previous_status: Status | None
    manager: str | None
    data: dict[str, Any]
    log: list[LogEntry]
    version: int
    created: datetime
    updated: datetime


class EventFilter(BaseModel):
    """Query filters shared by ``GET activity`` and the live feed."""

    model_config = ConfigDict(extra="forbid")

    status: list[Status] | None = Field(
        default=None, max_length=20,
        description="Statuses (repeat the parameter or separate with commas).")
    action: list[Action] | None = Field(default=None, max_length=20,
                                        description="Actions (repeats or commas).")
    object_type: list[Annotated[str, Field(max_length=32)]] | None = Field(
        default=None, max_length=20,
        description="Object types, e.g. PROJECT, STAGING_JOB (repeats or commas).")
    object_id: str | None = Field(default=None, max_length=128, description="Object id.")
    user: str | None = Field(default=None, max_length=128, description=(
        "Acting user; a non-admin may only name themselves (else 403)."))
    project_id: Id | None = Field(default=None, description="Project id.")
    since: Cursor = Field(default=0, description=(
        "Cursor: only events whose latest change has seq > since."))
    limit: int = Field(default=100, ge=1, le=1000, description="Page size.")


class RequestIn(BaseModel):
    """``POST activity``: ask for something that may need approval."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["REQ"] = "REQ"
    kind: Literal["project.create", "project.join"]
    project_id: Id | None = None
    name: str | None = Field(default=None, min_length=2, max_length=128,
                             pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.\-]*$")
    description: str = Field(default="", max_length=4000)
    message: str = Field(default="", max_length=2000)


class DecisionIn(BaseModel):
    """``PUT requests/<id>``."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "deny"]
    message: str = Field(default="", max_length=2000)


class MemberOut(BaseModel):
    username: str
    role: Literal["pi", "member"]


USERNAME = r"^[A-Za-z0-9_][A-Za-z0-9_.@\-]*$"
PROJECT_NAME = r"^[A-Za-z0-9][A-Za-z0-9 _.\-]*$"


class MemberIn(BaseModel):
    """``POST projects/<id>/members`` (PI or admin)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=128, pattern=USERNAME)
    role: Literal["pi", "member"] = "member"


class ProjectIn(BaseModel):
    """``POST projects`` (admin): create a project directly, without a request."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=128, pattern=PROJECT_NAME)
    description: str = Field(default="", max_length=4000)
    pi: str | None = Field(default=None, min_length=1, max_length=128, pattern=USERNAME)


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    created_by: str
    created: datetime
    members: list[MemberOut]


class LiveSubscribe(BaseModel):
    """Websocket ``live``: the client's ``subscribe`` message (replay from ``since``, then live)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["subscribe"]
    since: Cursor | None = None
    filters: EventFilter = Field(default_factory=EventFilter)


class LiveEvent(BaseModel):
    """Websocket ``live``: one event sent by the server; ``seq`` is the cursor to resume from."""

    type: Literal["event"] = "event"
    seq: int
    event: EventOut


class LiveError(BaseModel):
    """Websocket ``live``: a refused client message (the connection stays open)."""

    type: Literal["error"] = "error"
    message: str
