"""ORM rows of the activity domain: events, their change log (feed cursor), projects, members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.db import Base, UTCDateTime
from ..core.timeutil import utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit sequence.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class ActivityEvent(Base):
    """One action on one object, with its status history in ``log``.

    ``seq`` is the sequence number of the event's latest change (see ``ActivityChange``), so
    "everything after cursor N" is one indexed range query. ``version`` is a compare-and-set
    counter: a write against a stale version fails instead of overwriting (no lost update).
    """

    __tablename__ = "activity_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(SeqType, unique=True, index=True)
    action: Mapped[str] = mapped_column(String(8))
    object_type: Mapped[str] = mapped_column(String(32), index=True)
    object_id: Mapped[str | None] = mapped_column(String(128), index=True)
    username: Mapped[str] = mapped_column(String(128), index=True)
    # the acting person's display name when the event was written ("" for a system actor)
    user_name: Mapped[str] = mapped_column(String(256), default="", server_default="")
    project_id: Mapped[int | None] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    previous_status: Mapped[str | None] = mapped_column(String(16))
    manager: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_activity_events_status_lease", "status", "lease_until"),)


class ActivityChange(Base):
    """Append-only journal: one row per write to an event; its ``seq`` is the feed cursor."""

    __tablename__ = "activity_changes"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("activity_events.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Project(Base):
    """A science or engineering project; other domains attach work to it."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(128))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    members: Mapped[list[ProjectMember]] = relationship(
        back_populates="project", cascade="all, delete-orphan", lazy="selectin"
    )


class ProjectMember(Base):
    """Membership of a user in a project; ``role`` is ``pi`` or ``member``."""

    __tablename__ = "project_members"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    username: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    added: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    project: Mapped[Project] = relationship(back_populates="members")
