"""ORM rows of the Ocat domain: observations, revisions, sign-offs, the POC rota, imports.

* ``OcatObservation``: one target of the observing catalog with its current parameter values
  (``values``, JSON) and ``last_rev``, the revision counter that every submission bumps with
  one ``UPDATE ... RETURNING`` inside its write transaction (the row lock makes concurrent
  submitters of one obsid queue up and take distinct numbers; the unique ``(obsid, rev)``
  constraint backs it).
* ``OcatRevision``: ``obsid.rev``: kind, submitter, comment, original and requested values,
  flags and warnings computed at submission, ``summary`` (a copy of its sign-offs, written
  with them, read by the status board), ``state`` (open / closed / superseded /
  withdrawn) and a ``version`` for compare-and-set. Rows are never deleted.
* ``OcatSignoff``: one row per (revision, column): ``pending | not_required | signed |
  discarded | carried`` with signer, time and note.
* ``OcatRotaPeriod``: the POC duty rota, periods that tile the calendar without gaps.
* ``OcatImport``: the last catalog import (source, digest), so a re-run writes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base, UTCDateTime


class OcatObservation(Base):
    """A target of the observing catalog and its current parameter values."""

    __tablename__ = "ocat_observations"

    obsid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq_nbr: Mapped[str] = mapped_column(String(16))
    target_name: Mapped[str] = mapped_column(String(256))
    instrument: Mapped[str] = mapped_column(String(16))
    grating: Mapped[str] = mapped_column(String(16))
    obs_type: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)
    poc: Mapped[str | None] = mapped_column(String(128), index=True)
    planned_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ra: Mapped[float | None] = mapped_column(Float)
    dec: Mapped[float | None] = mapped_column(Float)
    roll: Mapped[float | None] = mapped_column(Float)
    or_list: Mapped[bool] = mapped_column(Boolean, default=False)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    digest: Mapped[str] = mapped_column(String(64), default="")
    last_rev: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[datetime] = mapped_column(UTCDateTime)


class OcatRevision(Base):
    """One submitted revision ``obsid.rev`` (never deleted)."""

    __tablename__ = "ocat_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    obsid: Mapped[int] = mapped_column(ForeignKey("ocat_observations.obsid"))
    rev: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))
    submitter: Mapped[str] = mapped_column(String(128), index=True)
    submitted: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")
    original: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_by: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("obsid", "rev", name="uq_ocat_revisions_obsid_rev"),
        Index("ix_ocat_revisions_state_submitted", "state", "submitted"),
        Index("ix_ocat_revisions_closed_at", "closed_at"),
    )


class OcatSignoff(Base):
    """One sign-off column of one revision."""

    __tablename__ = "ocat_signoffs"

    revision_id: Mapped[int] = mapped_column(
        ForeignKey("ocat_revisions.id"), primary_key=True)
    column: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    signer: Mapped[str | None] = mapped_column(String(128))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_ocat_signoffs_column_status", "column", "status"),)


class OcatRotaPeriod(Base):
    """A duty period ``[start, end]`` (whole local days) of the POC rota."""

    __tablename__ = "ocat_rota"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[date] = mapped_column(Date, unique=True)
    end: Mapped[date] = mapped_column(Date)
    poc: Mapped[str | None] = mapped_column(String(128))
    assigned_by: Mapped[str | None] = mapped_column(String(128))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    modified: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class OcatImport(Base):
    """The last catalog import of a source."""

    __tablename__ = "ocat_imports"

    source: Mapped[str] = mapped_column(String(1024), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    observations: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
