"""Calendar wire models (pydantic): sites, reservations, queries and answers.

Instants must carry a time zone (``...Z`` or an offset; seconds optional); the service turns
them into UTC. ORM rows never leave the service: ``ReservationOut`` is what clients see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.wire import Id, Instant

ReservationType = Literal["realtime", "project"]
Origin = Literal["ptr", "lco"]
ReservationStatus = Literal["active", "cancelled"]
SITE_CODE_BODY = r"[a-z0-9][a-z0-9_-]{0,31}"  # the one site-code pattern (also in routes)
SITE_CODE = f"^{SITE_CODE_BODY}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SiteIn(_Strict):
    """``POST calendar/sites`` (calendar_admin)."""

    code: str = Field(pattern=SITE_CODE)
    name: str = Field(min_length=1, max_length=128)
    timezone: str = Field(default="UTC", min_length=1, max_length=64)


class SiteOut(BaseModel):
    code: str
    name: str
    timezone: str
    created_by: str
    created: datetime


class ReservationIn(_Strict):
    """``POST calendar/reservations``; the creator is always the logged-in user."""

    site: str = Field(pattern=SITE_CODE)
    start: Instant
    end: Instant
    title: str | None = Field(default=None, max_length=256)
    type: ReservationType = "realtime"
    note: str = Field(default="", max_length=10_000)
    project_id: Id | None = None


class ReservationPatch(_Strict):
    """``PATCH calendar/reservations/<id>``: only the fields sent change.

    ``version`` (or an ``If-Match`` header) makes the update conditional; a stale one is a 409.
    ``project_id: null`` detaches the project.
    """

    start: Instant | None = None
    end: Instant | None = None
    title: str | None = Field(default=None, min_length=1, max_length=256)
    type: ReservationType | None = None
    note: str | None = Field(default=None, max_length=10_000)
    project_id: Id | None = None
    version: Id | None = None


class ReservationOut(BaseModel):
    """A reservation as clients see it; ``[start, end)`` is half-open."""

    id: str
    site: str
    start: datetime
    end: datetime
    title: str
    type: ReservationType
    origin: Origin
    external_id: str | None
    creator_id: str
    creator_name: str
    project_id: int | None
    note: str
    status: ReservationStatus
    sequence: int
    version: int
    created: datetime
    modified: datetime
    cancelled_at: datetime | None


class ValidateIn(ReservationIn):
    """``POST calendar/validate``: would this booking (or this change, with ``ignore_id``) fit?"""

    ignore_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")


class ValidateOut(BaseModel):
    """``ok`` is false when ``conflicts`` (the active reservations in the way) is not empty."""

    ok: bool
    conflicts: list[ReservationOut]


class WindowQuery(_Strict):
    """``GET calendar/reservations?site=&start=&end=``: everything overlapping ``[start, end)``."""

    site: str | None = Field(default=None, pattern=SITE_CODE)
    start: Instant
    end: Instant
    include_cancelled: bool = False


class AtQuery(_Strict):
    """``GET calendar/reservations/at?site=&time=``."""

    site: str = Field(pattern=SITE_CODE)
    time: Instant


class EndingAfterQuery(_Strict):
    """``GET calendar/users/<user>/reservations?ending_after=`` (default: now)."""

    ending_after: Instant | None = None


class FeedTokenOut(BaseModel):
    """``POST calendar/feed-token``: the new secret (shown once) and ready-made feed URLs."""

    token: str
    created: datetime
    user_feed: str
    site_feeds: dict[str, str]
