"""Wire models (pydantic) shared by every iCal feed: the state of a user's feed token."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class FeedTokenStatus(BaseModel):
    """``GET calendar/feed-token``: whether the user has a token (never the token itself)."""

    active: bool
    created: datetime | None = None
