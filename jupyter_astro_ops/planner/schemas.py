"""Wire models (pydantic) of the people planner: employees, entries, the grid, coverage,
holidays, swaps and imports.

Every input is bounded (``core.wire``). Local times are ``"HH:MM"`` in the employee's zone
(``"24:00"`` is allowed as an end: midnight at the end of the day); an end before the start is
an overnight block ending the next day. Dates are ISO ``YYYY-MM-DD``; a date range's ``end``
is the last day *included*. Instants in answers are aware UTC. Framework-free, so the Python
client validates answers with these same models. The imports' models are in
``import_schemas``, the query strings of the ``GET`` routes in ``query_schemas``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..core.wire import STORABLE, Day, Flag, Name, Note, Title

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
USERNAME = r"^[A-Za-z0-9_][A-Za-z0-9_.@\-]*$"
CODE_BODY = r"[A-Za-z][A-Za-z0-9_-]{0,31}"  # location codes (also in routes)
NO_LOCATION = "none"  # primary location "none": no defaults for this person
Username = Annotated[str, Field(min_length=1, max_length=128, pattern=USERNAME), STORABLE]
LocationCode = Annotated[str, Field(pattern=f"^{CODE_BODY}$")]
RoleName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
CalendarCode = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
Department = Annotated[str, Field(min_length=1, max_length=64), STORABLE]
ZoneName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$")]
StartTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
EndTime = Annotated[str, Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LocationKind = Literal["place", "leave", "duty"]
BlockKind = Literal["stored", "default", "holiday", "import"]
SummitLead = Literal["", "7-3", "7-9", "9-5", "3-5"]
SupportLead = Literal["", "K1", "K2"]
Hex32 = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
Short = Annotated[str, Field(max_length=128), STORABLE]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- configuration as clients see it ---------------------------------------------------------
class LocationTypeOut(BaseModel):
    """A configured location type; ``settable``: the caller may put it on their own row."""

    code: str
    label: str
    colour: str
    kind: LocationKind
    note_required: bool
    self_service: list[str]
    settable: bool = False


class CoverageRuleOut(BaseModel):
    """A coverage rule: at least ``minimum`` people of ``role`` at ``locations``."""

    name: str
    role: str | None
    locations: list[str]
    days: list[Weekday]
    when: Literal["day", "night"]
    start: str
    end: str
    minimum: int


class PlannerSettings(BaseModel):
    """``GET planner/settings``: what clients need to draw and edit the grid."""

    locations: list[LocationTypeOut]
    coverage_rules: list[CoverageRuleOut]
    max_blocks_per_day: int
    max_range_days: int
    max_read_days: int
    site_timezone: str
    swaps_need_approval: bool
    admin: bool
    employee: bool


# -- employees -------------------------------------------------------------------------------
class EmployeeIn(_Strict):
    """``PUT planner/employees/<username>`` (planner_admin) and one directory record.

    Missing values take the site defaults (``c.PlannerService.default_*``).
    """

    display_name: Name
    department: Department = "General"
    roles: list[RoleName] = Field(default_factory=list, max_length=16)
    base_camp: Short = ""
    primary_location: LocationCode | None = None
    shift_start: StartTime | None = None
    shift_end: EndTime | None = None
    working_days: list[Weekday] | None = Field(default=None, max_length=7)
    timezone: ZoneName | None = None
    calendar: CalendarCode | None = None
    active: Flag = True
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class EmployeeRecord(EmployeeIn):
    """One person as a directory source lists them."""

    username: Username


class EmployeeOut(BaseModel):
    username: str
    display_name: str
    department: str
    roles: list[str]
    base_camp: str
    primary_location: str
    shift_start: str
    shift_end: str
    working_days: list[Weekday]
    timezone: str
    calendar: str
    active: bool
    source: str
    version: int
    modified: datetime


class SyncResult(BaseModel):
    """What a directory re-sync changed."""

    source: str
    listed: int
    added: list[str] = []
    updated: list[str] = []
    deactivated: list[str] = []
    unchanged: int = 0
    problems: list[str] = []


# -- entries ---------------------------------------------------------------------------------
class BlockIn(_Strict):
    """One block of a day: a location from ``start`` to ``end`` (local ``HH:MM``)."""

    location: LocationCode
    start: StartTime
    end: EndTime


class EntryIn(_Strict):
    """``POST planner/entries``: the same blocks on every day from ``start_date`` to
    ``end_date`` (inclusive; optionally only on ``weekdays``), in one transaction."""

    username: Username | None = None
    start_date: Day
    end_date: Day | None = None
    weekdays: list[Weekday] | None = Field(default=None, min_length=1, max_length=7)
    blocks: list[BlockIn] = Field(min_length=1, max_length=8)
    note: Note = ""
    seats: int = Field(default=0, ge=0, le=6)
    alternate_pickup: Short = ""
    summit_lead: SummitLead = ""
    support_lead: SupportLead = ""
    crew_lead: Short = ""


class EntryPatch(_Strict):
    """``PATCH planner/entries/<id>``: only the fields sent change (``null`` resets one to
    its default: no note, no seats, no lead); ``blocks`` replaces all blocks. ``version``
    (or ``If-Match``) makes it conditional: a stale one is a 409."""

    blocks: list[BlockIn] | None = Field(default=None, min_length=1, max_length=8)
    note: Note | None = None
    seats: int | None = Field(default=None, ge=0, le=6)
    alternate_pickup: Short | None = None
    summit_lead: SummitLead | None = None
    support_lead: SupportLead | None = None
    crew_lead: Short | None = None
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class BlockOut(BaseModel):
    """A stored block: UTC instants plus the local wall-clock times in the entry's zone."""

    location: str
    start: datetime
    end: datetime
    local_start: str
    local_end: str
    overnight: bool


class EntryOut(BaseModel):
    """One stored entry (a person's blocks of one day from one origin)."""

    id: str
    username: str
    day: date
    timezone: str
    blocks: list[BlockOut]
    note: str
    seats: int
    alternate_pickup: str
    summit_lead: str
    support_lead: str
    crew_lead: str
    origin: str
    source: str | None
    entered_by: str
    version: int
    deleted: bool
    created: datetime
    modified: datetime


# -- the grid --------------------------------------------------------------------------------
class GridBlock(BaseModel):
    """A block of the grid: ``stored`` (by hand), ``import`` (``source`` says which),
    ``default`` (generated, never stored) or ``holiday``."""

    location: str
    start: datetime
    end: datetime
    local_start: str
    local_end: str
    kind: BlockKind
    source: str | None = None
    entry_id: str | None = None
    version: int | None = None
    note: str = ""


class GridCell(BaseModel):
    day: date
    blocks: list[GridBlock]
    holiday: str | None = None
    conflicts: list[str] = []


class GridRow(BaseModel):
    username: str
    display_name: str
    department: str
    roles: list[str]
    base_camp: str
    timezone: str
    cells: list[GridCell]


class GridOut(BaseModel):
    """``GET planner/grid``: one row per employee, one cell per day."""

    start: date
    end: date
    days: list[date]
    rows: list[GridRow]


class WhereIsOut(BaseModel):
    """``GET planner/whereis``: what ``username`` is doing at ``at``."""

    username: str
    display_name: str
    at: datetime
    timezone: str
    local_time: str
    now: list[GridBlock]
    today: GridCell
    summary: str


# -- coverage --------------------------------------------------------------------------------
class CoverageCell(BaseModel):
    """One rule on one day (or night): how many are needed, who covers it, the gap."""

    rule: str
    day: date
    required: int
    covered: int
    who: list[str]
    gap: int
    conflicts: list[str] = []


class DutyConflict(BaseModel):
    """A duty block on a day the same person has leave."""

    day: date
    username: str
    duty: str
    leave: str
    message: str


class CoverageOut(BaseModel):
    """``GET planner/coverage``: every rule x day, and the duty-on-leave conflicts."""

    start: date
    end: date
    rules: list[CoverageRuleOut]
    cells: list[CoverageCell]
    conflicts: list[DutyConflict]

    @property
    def gaps(self) -> list[CoverageCell]:
        return [c for c in self.cells if c.gap > 0]


# -- holidays --------------------------------------------------------------------------------
class HolidayIn(_Strict):
    """``POST planner/holidays`` (planner_admin)."""

    calendar: CalendarCode
    day: Day
    name: Annotated[str, Field(min_length=1, max_length=256), STORABLE]


class HolidayOut(BaseModel):
    id: int | None
    calendar: str
    day: date
    name: str
    source: Literal["config", "table"]
    created_by: str


# -- swaps -----------------------------------------------------------------------------------
SwapState = Literal["asked", "accepted", "approved", "declined", "denied", "withdrawn"]


class SwapIn(_Strict):
    """``POST planner/swaps``: ask ``to_user`` to take block ``position`` of entry
    ``entry_id`` (yours); optionally one of theirs (``in_return_*``) comes back to you."""

    entry_id: Hex32
    position: int = Field(default=0, ge=0, le=7)
    to_user: Username
    in_return_entry_id: Hex32 | None = None
    in_return_position: int = Field(default=0, ge=0, le=7)
    message: Title = ""


class SwapDecisionIn(_Strict):
    """``PUT planner/swaps/<id>``: the asked person accepts or declines, a planner_admin
    approves or denies (when approval is needed), the asker may withdraw."""

    decision: Literal["accept", "decline", "approve", "deny", "withdraw"]
    message: Title = ""


class SwapOut(BaseModel):
    id: str
    event_id: str
    requester: str
    target: str
    entry_id: str
    position: int
    day: date
    block: BlockOut | None
    in_return_entry_id: str | None
    in_return_position: int
    state: SwapState
    status: str
    needs_approval: bool
    message: str
    decided_by: str | None
    created: datetime
    modified: datetime
