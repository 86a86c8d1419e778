"""Ocat wire models (pydantic): submissions, revisions, sign-offs, the board, express, the rota.

Every input is bounded (names and notes by ``core.wire``, parameter values by
``ParamValue``, obsid lists by length before parsing). Free of server imports, so the Python
client validates the server's answers with the same models. A revision is named
``<obsid>.<rev>`` with the revision number shown with three digits (``12345.002``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from ..core.wire import STORABLE, Day, Flag, Instant, Name, Note

Kind = Literal["norm", "asis", "remove", "clone"]
SignoffStatus = Literal["pending", "not_required", "signed", "discarded", "carried"]
RevisionState = Literal["open", "closed", "superseded", "withdrawn"]
Verdict = Literal["approvable", "already approved", "unknown", "blocked: no SI mode",
                  "blocked: observed or canceled", "warning: opened by another POC"]
Obsid = Annotated[int, Field(ge=1, le=9_999_999)]
ParamName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
ParamValue = (Annotated[str, Field(max_length=4000), STORABLE] | float | int | None)
ColumnName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
REVISION_REF = r"(?P<obsid>[0-9]{1,7})\.(?P<rev>[0-9]{1,4})"
EXPRESS_MAX_CHARS = 20_000


def revision_label(obsid: int, rev: int) -> str:
    """``12345.002``: how people name a revision."""
    return f"{obsid}.{rev:03d}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- parameters and observations --------------------------------------------------------------
class ParameterOut(BaseModel):
    """One parameter of the catalog."""

    name: str
    group: str
    type: str
    unit: str | None
    min: float | None
    max: float | None
    allowed: list[str]
    modifiable: bool
    description: str


class ColumnOut(BaseModel):
    """A sign-off column and the role that signs it."""

    name: str
    label: str
    role: str
    verification: bool


class CatalogOut(BaseModel):
    """``GET ocat/parameters``."""

    source: str
    groups: dict[str, str]
    columns: list[ColumnOut]
    parameters: list[ParameterOut]


class ObservationOut(BaseModel):
    """``GET ocat/observations/<obsid>``: the observation, its values and approved state."""

    obsid: int
    seq_nbr: str
    target_name: str
    instrument: str
    grating: str
    obs_type: str
    status: str
    poc: str | None
    planned_date: datetime | None
    ra: float | None
    dec: float | None
    roll: float | None
    or_list: bool
    approved: bool
    values: dict[str, Any]
    revisions: list[str]


# -- submission --------------------------------------------------------------------------------
class SubmitIn(_Strict):
    """``POST ocat/revisions``: ``changes`` maps parameter -> requested value (null: clear)."""

    obsid: Obsid
    kind: Kind = "norm"
    changes: dict[ParamName, ParamValue] = Field(default_factory=dict, max_length=200)
    comment: Note = ""
    dry_run: Flag = False


class CheckWarning(BaseModel):
    """A value check that failed: the submission is still accepted."""

    rule: str
    params: list[str]
    message: str


class SignoffOut(BaseModel):
    """One column of a revision."""

    column: str
    status: SignoffStatus
    signer: str | None
    signed_at: datetime | None
    note: str


class ValueRow(BaseModel):
    """A parameter side by side: original, requested and current value."""

    name: str
    group: str
    original: Any
    requested: Any
    current: Any
    changed: bool


class RevisionOut(BaseModel):
    """A revision with its sign-offs (``GET ocat/revisions/<obsid>.<rev>``)."""

    id: int
    obsid: int
    rev: int
    label: str
    kind: Kind
    submitter: str
    submitted: datetime
    comment: str
    state: RevisionState
    closed_at: datetime | None
    superseded_by: str | None
    flags: list[str]
    warnings: list[CheckWarning]
    signoffs: list[SignoffOut]
    version: int


class RevisionDetail(RevisionOut):
    """The revision with original / requested / current values side by side."""

    target_name: str
    instrument: str
    values: list[ValueRow]


class SubmitOut(BaseModel):
    """What a submission did (or, with ``dry_run``, would do)."""

    dry_run: bool
    revision: RevisionOut | None
    warnings: list[CheckWarning]
    needs: dict[str, SignoffStatus]
    flags: list[str]
    superseded: list[str]
    carried: list[str]


# -- sign-off actions ----------------------------------------------------------------------------
class SignIn(_Strict):
    """``POST ocat/revisions/<ref>/sign``: sign one column (``approve``: and approve)."""

    column: ColumnName
    note: Note = ""
    approve: Flag = False
    version: int | None = Field(default=None, ge=1)


class UndoIn(_Strict):
    """``POST ocat/revisions/<ref>/undo``: take back your own sign-off of ``column``."""

    column: ColumnName
    version: int | None = Field(default=None, ge=1)


class DiscardIn(_Strict):
    """``POST ocat/revisions/<ref>/discard`` (usint, admin): every pending column discarded."""

    reason: Annotated[str, Field(min_length=1, max_length=4000), STORABLE]
    version: int | None = Field(default=None, ge=1)


class WithdrawIn(_Strict):
    """``POST ocat/revisions/<ref>/withdraw``: your own revision, while nothing is signed."""

    version: int | None = Field(default=None, ge=1)


# -- board ---------------------------------------------------------------------------------------
class BoardQuery(_Strict):
    """``GET ocat/board?sort=submitted|obsid|submitter&order=desc|asc``."""

    sort: Literal["submitted", "obsid", "submitter"] = "submitted"
    order: Literal["asc", "desc"] = "desc"
    closed_hours: float = Field(default=36.0, ge=0, le=24 * 30)


class BoardSignoff(TypedDict):
    """One column on the board: the revision row's copy of its sign-off (``signed_at`` as
    ISO 8601 UTC), served as stored."""

    status: SignoffStatus
    signer: str | None
    signed_at: str | None
    note: str


class BoardRow(BaseModel):
    """One revision on the status board, with the notes of the original's orupdate."""

    id: int
    label: str
    obsid: int
    rev: int
    kind: Kind
    target_name: str
    instrument: str
    obs_type: str
    submitter: str
    submitted: datetime
    state: RevisionState
    closed_at: datetime | None
    version: int
    signoffs: dict[str, BoardSignoff]
    flags: list[str]
    notes: list[str]


# -- express -------------------------------------------------------------------------------------
class ExpressIn(_Strict):
    """``POST ocat/express``: ``obsids`` like ``"12001-12005, 12010;12011 12012:12013"``."""

    obsids: Annotated[str, Field(min_length=1, max_length=EXPRESS_MAX_CHARS), STORABLE]
    dry_run: Flag = True
    comment: Note = ""


class ExpressItem(BaseModel):
    obsid: int
    verdict: Verdict
    detail: str
    revision: str | None = None


class ExpressOut(BaseModel):
    """Per-obsid verdicts; after a commit, ``approved`` and what was ``skipped`` and why."""

    dry_run: bool
    items: list[ExpressItem]
    approved: list[str]
    skipped: dict[str, list[int]]


# -- rota ----------------------------------------------------------------------------------------
class RotaPeriodOut(BaseModel):
    """A duty period ``[start, end]`` (local days)."""

    id: int
    start: date
    end: date
    days: int
    poc: str | None
    assigned_by: str | None
    locked: bool
    modified: datetime
    version: int


class RotaQuery(_Strict):
    """``GET ocat/rota?start=&end=`` (days, ``end`` included)."""

    start: Day | None = None
    end: Day | None = None


class RotaAssignIn(_Strict):
    """``POST ocat/rota/<id>/assign`` (admin); ``poc: null`` clears the period."""

    poc: Name | None
    version: int | None = Field(default=None, ge=1)


class RotaVersionIn(_Strict):
    version: int | None = Field(default=None, ge=1)


class RotaSplitIn(_Strict):
    """``POST ocat/rota/<id>/split``: ``at`` becomes the first day of the second part."""

    at: Day
    version: int | None = Field(default=None, ge=1)


class RotaMergeIn(_Strict):
    """``DELETE ocat/rota/<id>?into=previous|next``."""

    into: Literal["previous", "next"] = "previous"
    version: int | None = Field(default=None, ge=1)


class RotaCurrentOut(BaseModel):
    """``GET ocat/rota/current``: who is on duty now."""

    now: datetime
    period: RotaPeriodOut | None
    poc: str | None


# -- imports -------------------------------------------------------------------------------------
class OcatImportSummary(BaseModel):
    """What one catalog import did."""

    source: str
    digest: str
    observations: int
    added: list[int] = Field(default_factory=list)
    updated: list[int] = Field(default_factory=list)
    unchanged: int = 0
    invalid: list[str] = Field(default_factory=list)
    catalog_unchanged: bool = False


class OcatImportIn(_Strict):
    """``POST ocat/imports`` (admin): run the configured import now."""

    force: Flag = False


class InstantQuery(_Strict):
    at: Instant | None = None
