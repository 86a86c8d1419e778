"""Wire models (pydantic) of the planner's imports: what a run did, the last run of each.

Framework-free, like ``schemas``, so the Python client validates answers with them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from ..core.wire import Flag
from .schemas import _Strict

ImportName = Literal["night", "leave"]


class PlannerImportIn(_Strict):
    """``POST planner/imports/<name>``: run the configured source now (planner_admin)."""

    dry_run: Flag = False
    force: Flag = False


class ImportProblem(BaseModel):
    """A row that was not applied: malformed, unknown person or unknown location."""

    row: int | None
    reason: str


class ImportClash(BaseModel):
    """An imported block not written because a block of the same person is in the way."""

    day: date
    key: str
    username: str
    block: str
    blocking: list[str]


class ImportResult(BaseModel):
    """What one import did (or, with ``dry_run``, would do)."""

    name: str
    source: str
    digest: str
    dry_run: bool = False
    file_unchanged: bool = False
    rows: int = 0
    added: list[str] = []
    updated: list[str] = []
    removed: list[str] = []
    unchanged: int = 0
    past: int = 0
    clashes: list[ImportClash] = []
    problems: list[ImportProblem] = []

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def line(self) -> str:
        """One human line for the CLI and the logs."""
        head = f"{self.name}: " + ("file unchanged; " if self.file_unchanged else "")
        return (f"{head}rows {self.rows}, added {len(self.added)}, updated {len(self.updated)}, "
                f"removed {len(self.removed)}, unchanged {self.unchanged}, past {self.past}, "
                f"clashes {len(self.clashes)}, problems {len(self.problems)}"
                + (" (dry run: nothing written)" if self.dry_run else ""))


class PlannerImportStatus(BaseModel):
    """``GET planner/imports``: the last run of each import."""

    name: str
    configured: bool
    source: str | None
    ran_at: datetime | None
    summary: dict[str, object]
