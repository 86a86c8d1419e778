"""ORM row of LCO schedule imports: the last schedule imported per site.

What Photon Ranch's ``{stage}-schedule-tracking`` table held (source, content digest and what
the import changed), so a re-run of the same schedule writes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ...core.db import Base, UTCDateTime
from ...core.timeutil import utcnow


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
