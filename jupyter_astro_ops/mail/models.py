"""ORM row of the outbox: one queued (or sent) mail message.

``status`` is ``queued`` until the SMTP server accepted the message (then ``sent`` with
``sent_at``); ``attempts``/``next_attempt``/``last_error`` drive the retries. ``claimed_until``
is the lease a sender takes (one conditional UPDATE) before talking to SMTP, so two senders
never deliver the same message. ``dedupe_key`` (unique when set) lets a periodic job queue a
message at most once (``reminder:2030-01-02:acis``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base, UTCDateTime


class MailMessage(Base):
    """A message in the outbox."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(256))
    to: Mapped[list[str]] = mapped_column(JSON, default=list)
    cc: Mapped[list[str]] = mapped_column(JSON, default=list)
    bcc: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(512))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(256))
    dedupe_key: Mapped[str | None] = mapped_column(String(256), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_mail_outbox_status_next_attempt", "status", "next_attempt"),)
