"""ORM rows of the calendar domain: observing sites and telescope reservations.

A reservation is a half-open interval ``[start, end)`` at one site. Two *active* reservations
at a site never overlap: the service checks it inside the write transaction (SQLite writers are
serialized by ``BEGIN IMMEDIATE``) and on PostgreSQL an exclusion constraint created by the
migration ``calendar_0001`` backs it up. Cancelled reservations are kept (``status =
"cancelled"``) so calendar feeds can publish ``STATUS:CANCELLED``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base, UTCDateTime
from ..core.timeutil import utcnow

RESERVATION_TYPES = ("realtime", "project")
ORIGINS = ("ptr", "lco")
STATUSES = ("active", "cancelled")


class Site(Base):
    """An observing site (``saf``, ``mrc``...); ``max_span_s`` bounds overlap queries.

    ``max_span_s`` is the longest reservation ever stored at the site, in seconds. A query
    for reservations overlapping ``[s, e)`` can then read the ``(site, start)`` index from
    ``s - max_span_s`` to ``e`` instead of from the beginning of time.
    """

    __tablename__ = "calendar_sites"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    timezone: Mapped[str] = mapped_column(String(64))
    max_span_s: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(128))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reservation(Base):
    """One booking of a site's telescope time.

    ``sequence`` is the iCalendar SEQUENCE (grows with every change, cancellation included);
    ``version`` is the optimistic-concurrency counter checked by every modification.
    ``external_id`` identifies imported bookings (origin ``lco``) and is unique per site+origin.
    """

    __tablename__ = "calendar_reservations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    site: Mapped[str] = mapped_column(
        ForeignKey("calendar_sites.code", ondelete="CASCADE")
    )
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    title: Mapped[str] = mapped_column(String(256))
    type: Mapped[str] = mapped_column(String(16), default="realtime")
    origin: Mapped[str] = mapped_column(String(8), default="ptr")
    external_id: Mapped[str | None] = mapped_column(String(128))
    creator_id: Mapped[str] = mapped_column(String(128))
    creator_name: Mapped[str] = mapped_column(String(256))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_calendar_reservations_site_start_end", "site", "start", "end"),
        Index("ix_calendar_reservations_creator_id_end", "creator_id", "end"),
        UniqueConstraint(
            "site", "origin", "external_id",
            name="uq_calendar_reservations_site_origin_external_id",
        ),
    )
