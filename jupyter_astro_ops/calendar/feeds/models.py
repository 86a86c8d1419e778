"""ORM rows of calendar feeds: per-user iCal feed tokens and the schedule-import tracking.

* ``FeedToken``: one row per user; only the SHA-256 of the secret is stored, so a leaked
  database never yields a usable calendar URL. The login's groups are kept so that an admin by
  group stays an admin when reading through the token (rotate the token to refresh them).
* ``ScheduleImport``: the last external schedule imported per site (what Photon Ranch's
  ``{stage}-schedule-tracking`` table held), so a re-run of the same schedule writes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ...core.db import Base, UTCDateTime
from ...core.timeutil import utcnow


class FeedToken(Base):
    """The calendar feed token of one user (``?feed_token=`` in subscription URLs)."""

    __tablename__ = "calendar_feed_tokens"

    username: Mapped[str] = mapped_column(String(128), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(256), default="")
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduleImport(Base):
    """The last schedule imported for a site: source, content digest and what it changed."""

    __tablename__ = "calendar_schedule_imports"

    site: Mapped[str] = mapped_column(
        ForeignKey("calendar_sites.code", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(1024))
    digest: Mapped[str] = mapped_column(String(64))
    observations: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
