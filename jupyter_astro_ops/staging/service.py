"""Staging service (placeholder until its issue is built)."""

from __future__ import annotations

from typing import Any

from traitlets import Instance, Unicode
from traitlets.config import LoggingConfigurable

from ..activity.service import ActivityService
from ..core.db import Database


class StagingService(LoggingConfigurable):
    """Staging business rules."""

    db = Instance(Database)
    activity = Instance(ActivityService)
    root_dir = Unicode("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)

    async def start(self) -> None:
        """Start background runners."""

    async def stop(self) -> None:
        """Stop background runners."""
