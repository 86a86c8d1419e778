"""ORM row of the iCal feed tokens: one per user, only the SHA-256 of the secret is stored.

A leaked database never yields a usable calendar URL. The login's groups are kept so that an
admin by group stays an admin when reading through the token (rotate the token to refresh
them). The table keeps its first name (``calendar_feed_tokens``, migration
``calendar_feed_0001``) now that every domain's feeds share it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base, UTCDateTime
from ..core.timeutil import utcnow


class ICalToken(Base):
    """The iCal feed token of one user (``?feed_token=`` in subscription URLs)."""

    __tablename__ = "calendar_feed_tokens"

    username: Mapped[str] = mapped_column(String(128), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(256), default="")
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
