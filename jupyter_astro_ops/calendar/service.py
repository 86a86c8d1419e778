"""Calendar service (placeholder until its issue is built)."""

from __future__ import annotations

from typing import Any

from traitlets import Instance
from traitlets.config import LoggingConfigurable

from ..activity.service import ActivityService
from ..core.db import Database


class CalendarService(LoggingConfigurable):
    """Calendar business rules."""

    db = Instance(Database)
    activity = Instance(ActivityService)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    async def start(self) -> None:
        """Start background runners."""

    async def stop(self) -> None:
        """Stop background runners."""
