"""Request bodies of the Photon Ranch compatible API (``calendar/compat/<endpoint>``).

The original's JSON shapes, with our bounds: every string has a maximum length (and the base
handler refuses NUL and lone surrogates everywhere), lists of events are capped. Times stay
strings here, as the original sent them; ``compat.parse_time`` reads them (an offset is
required, years 1900..2199).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

TYPES = {"realtime": "realtime", "project": "project", "observation": "project"}
MAX_EVENTS = 1000  # events per add/remove-project call
Short = Annotated[str, Field(max_length=128)]  # site codes, user ids
# the original's times: yyyy-MM-ddTHH:mm[:ss[.fff]] with Z or an offset (years 1900..2199)
Time = Annotated[str, Field(max_length=40, pattern=(
    r"^\s*(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3])"
    r":[0-5][0-9](:[0-5][0-9]([.][0-9]{1,6})?)?([Zz]|[+-](0[0-9]|1[0-4]):?[0-5][0-9])\s*$"))]
EventId = Annotated[str, Field(max_length=40, pattern=(  # a UUID, with or without dashes
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"))]


class _Body(BaseModel):
    # original clients send extra keys (resourceId, creator...); they are ignored
    model_config = ConfigDict(extra="ignore")


class CompatEvent(_Body):
    event_id: EventId | None = None
    start: Time
    end: Time
    site: Short
    title: str | None = Field(default=None, max_length=256)
    reservation_type: Literal["realtime", "project", "observation"] = "realtime"
    origin: Short = "ptr"
    creator: str | None = Field(default=None, max_length=256)
    creator_id: Short | None = None
    project_id: str = Field(default="none", max_length=300)
    reservation_note: str = Field(default="", max_length=10_000)

    @field_validator("reservation_type")
    @classmethod
    def _type(cls, v: str) -> str:
        if v not in TYPES:
            raise ValueError(f"reservation_type must be one of {sorted(TYPES)}")
        return TYPES[v]


class CompatEventKey(_Body):
    event_id: EventId
    start: Time | None = None
    last_modified: Time | None = None  # if sent, must match (a stale edit is refused)


class CompatModify(_Body):
    originalEvent: CompatEventKey  # the original camelCase key names
    modifiedEvent: dict[str, Any]


class CompatProjects(_Body):
    project_id: str = Field(max_length=300)
    events: list[CompatEventKey] = Field(min_length=1, max_length=MAX_EVENTS)


class CompatRemoveProject(_Body):
    events: list[EventId] = Field(min_length=1, max_length=MAX_EVENTS)


class CompatWindow(_Body):
    site: Short
    start: Time
    end: Time
    full_project_details: bool = False


class CompatExpired(_Body):
    site: Short
    cutoff_time: Time


class CompatUserTime(_Body):
    user_id: Short
    time: Time


class CompatSiteTime(_Body):
    site: Short
    time: Time


class CompatUserSiteTime(_Body):
    user_id: Short
    site: Short
    time: Time
