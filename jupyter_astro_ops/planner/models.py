"""ORM rows of the people planner: employees, entries and their blocks, holidays, swaps and
the last run of each import.

* An ``Entry`` is one person's blocks of one local ``day`` from one origin: ``hand`` (written
  by a person) or the name of the import that wrote it (``night``, ``leave``). A person has at
  most one live hand entry per day; imported entries sit beside it. ``source``/``import_key``
  keep the import's key ``(source, day, key)`` for as long as the row exists, also after a
  person took the entry over (``origin`` becomes ``hand``), so an import never writes twice.
* A ``Block`` is a location from ``start`` to ``end`` (aware UTC; the entry keeps the zone the
  local times were given in). Entries are soft-deleted (``deleted``), never removed.
* ``version`` columns are compare-and-set counters (SQLAlchemy ``version_id_col``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base, UTCDateTime
from ..core.timeutil import utcnow


class Employee(Base):
    """A person of the directory. ``working_days`` is a bit mask (bit 0 = Monday); shifts are
    minutes after local midnight (``shift_end`` may be 1440, or below the start: overnight)."""

    __tablename__ = "planner_employees"

    username: Mapped[str] = mapped_column(String(128), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(128))
    department: Mapped[str] = mapped_column(String(64), index=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    base_camp: Mapped[str] = mapped_column(String(128), default="")
    primary_location: Mapped[str] = mapped_column(String(32))
    shift_start: Mapped[int] = mapped_column(Integer)
    shift_end: Mapped[int] = mapped_column(Integer)
    working_days: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    calendar: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(32), default="manual")
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class Entry(Base):
    """One person's blocks of one day from one origin (see the module docstring)."""

    __tablename__ = "planner_entries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(
        ForeignKey("planner_employees.username", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    seats: Mapped[int] = mapped_column(Integer, default=0)
    alternate_pickup: Mapped[str] = mapped_column(String(128), default="")
    summit_lead: Mapped[str] = mapped_column(String(8), default="")
    support_lead: Mapped[str] = mapped_column(String(8), default="")
    crew_lead: Mapped[str] = mapped_column(String(128), default="")
    origin: Mapped[str] = mapped_column(String(16), default="hand")
    source: Mapped[str | None] = mapped_column(String(16))
    import_key: Mapped[str | None] = mapped_column(String(128))
    import_digest: Mapped[str | None] = mapped_column(String(64))
    entered_by: Mapped[str] = mapped_column(String(128))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_planner_entries_username_day", "username", "day"),
        Index("ix_planner_entries_day", "day"),
        UniqueConstraint("source", "day", "import_key",
                         name="uq_planner_entries_source_day_import_key"),
    )


class Block(Base):
    """A location from ``start`` to ``end`` (UTC, half-open), the ``position``-th of its entry.

    ``local_start``/``local_end`` are the same instants as wall-clock minutes after local
    midnight of the entry's day in the entry's zone (``local_end`` may pass 1440: overnight),
    written with the block so that reads never convert time zones.
    """

    __tablename__ = "planner_blocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(
        ForeignKey("planner_entries.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(String(32))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    local_start: Mapped[int] = mapped_column(Integer)
    local_end: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("entry_id", "position", name="uq_planner_blocks_entry_id_position"),
    )


class Holiday(Base):
    """A holiday of one holiday calendar (per site), editable by planner admins."""

    __tablename__ = "planner_holidays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    calendar: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(256))
    created_by: Mapped[str] = mapped_column(String(128))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("calendar", "day", name="uq_planner_holidays_calendar_day"),
    )


class Swap(Base):
    """A request that ``target`` take block ``position`` of ``requester``'s entry; its
    decision path lives in the activity ``REQ`` event ``event_id``."""

    __tablename__ = "planner_swaps"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32))
    requester: Mapped[str] = mapped_column(String(128), index=True)
    target: Mapped[str] = mapped_column(String(128), index=True)
    entry_id: Mapped[str] = mapped_column(
        ForeignKey("planner_entries.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    block: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    in_return_entry_id: Mapped[str | None] = mapped_column(
        ForeignKey("planner_entries.id", ondelete="CASCADE"))
    in_return_position: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16))
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    message: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class ImportRun(Base):
    """The last run of one import (``night``, ``leave``): source, file digest, what changed."""

    __tablename__ = "planner_import_runs"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(String(1024))
    digest: Mapped[str] = mapped_column(String(64))
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
