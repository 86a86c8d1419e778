"""Wire models (pydantic) of LCO schedule imports: what an import did, the last import per site."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from ...core.wire import Flag


class Clash(BaseModel):
    """An observation that was not imported because bookings are in its way."""

    external_id: str
    title: str
    start: datetime
    end: datetime
    blocking: list[dict[str, Any]]


class ImportSummary(BaseModel):
    """What one import did (or, with ``dry_run``, would do)."""

    site: str
    source: str
    digest: str
    dry_run: bool = False
    schedule_unchanged: bool = False
    observations: int = 0
    added: list[str] = []
    updated: list[str] = []
    cancelled: list[str] = []
    unchanged: int = 0
    past: int = 0
    clashes: list[Clash] = []
    invalid: list[str] = []

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.cancelled or self.clashes)

    def line(self) -> str:
        """One human line for the CLI and the logs."""
        head = f"{self.site}: " + ("schedule unchanged; " if self.schedule_unchanged else "")
        return (f"{head}added {len(self.added)}, updated {len(self.updated)}, cancelled "
                f"{len(self.cancelled)}, unchanged {self.unchanged}, past {self.past}, "
                f"clashes {len(self.clashes)}, invalid {len(self.invalid)}"
                + (" (dry run: nothing written)" if self.dry_run else ""))


class ImportStatus(BaseModel):
    """``GET calendar/imports``: the last schedule imported for a site."""

    site: str
    source: str
    digest: str
    observations: int
    imported_at: datetime
    summary: dict[str, Any]


class ImportRunIn(BaseModel):
    """``POST calendar/imports/<site>``: import the site's configured source now."""

    model_config = ConfigDict(extra="forbid")

    dry_run: Flag = False
    force: Flag = False
