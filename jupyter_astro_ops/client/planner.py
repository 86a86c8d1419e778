"""``ops.planner``: the people planner's REST API as Python calls (``AstroOps().planner``).

::

    ops = AstroOps()
    week = ops.planner.grid("2026-12-07", "2026-12-13", department="Operations")
    week.to_dataframe(wide=True)          # employees x days, e.g. "SUNight 18:00-06:00"
    ops.planner.whereis("obs1")["summary"]
    ops.planner.set_entry("2026-12-08", ("WFH", "08:00", "17:00"), note="cell 555-0100")
    ops.planner.coverage("2026-12-07", "2026-12-13").gaps

Answers are checked against the server's own wire models (``planner.schemas``) and handed
back as plain JSON data; ``GridRows``/``CoverageRows`` are lists of dicts with
``to_dataframe()`` (pandas, installed with panel). Errors are the client's ``AstroOpsError``
subclasses (``BadRequest``, ``PermissionDenied``, ``ConflictError``...) with the server's
message, e.g. the 409 naming the block in the way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timezone
from typing import Any, Protocol
from urllib.parse import quote

import requests

from ..planner.import_schemas import ImportResult, PlannerImportStatus
from ..planner.schemas import (
    CoverageOut,
    EmployeeOut,
    EntryOut,
    GridOut,
    HolidayOut,
    PlannerSettings,
    SwapOut,
    WhereIsOut,
)

Block = tuple[str, str, str] | dict[str, str]


class Transport(Protocol):
    """What the planner client needs of ``AstroOps``."""

    def _get_json(self, path: str, params: dict[str, Any] | None = None) -> Any: ...
    def _send_json(self, method: str, path: str, body: dict[str, Any]) -> Any: ...
    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response: ...
    def me(self) -> dict[str, Any]: ...


def _day(value: date | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def _instant(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone; use e.g. tzinfo=timezone.utc")
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _block(block: Block) -> dict[str, str]:
    if isinstance(block, dict):
        return {"location": block["location"], "start": block["start"], "end": block["end"]}
    location, start, end = block
    return {"location": location, "start": start, "end": end}


class GridRows(list[dict[str, Any]]):
    """One dict per employee and day of a grid (``to_dataframe()``)."""

    def __init__(self, grid: dict[str, Any]) -> None:
        super().__init__(
            {"username": row["username"], "display_name": row["display_name"],
             "department": row["department"], "day": cell["day"],
             "where": " + ".join(f"{b['location']} {b['local_start']}-{b['local_end']}"
                                 for b in cell["blocks"]),
             "locations": [b["location"] for b in cell["blocks"]],
             "kinds": [b["kind"] for b in cell["blocks"]],
             "holiday": cell["holiday"] or "", "conflicts": "; ".join(cell["conflicts"])}
            for row in grid["rows"] for cell in row["cells"])
        self.grid = grid

    def to_dataframe(self, wide: bool = False) -> Any:
        """A pandas DataFrame: one row per employee and day, or (``wide``) employees x days
        with what each cell says (an empty string where nobody is scheduled)."""
        import pandas as pd

        frame = pd.DataFrame(self, columns=["username", "display_name", "department", "day",
                                            "where", "locations", "kinds", "holiday",
                                            "conflicts"])
        frame["day"] = pd.to_datetime(frame["day"]).dt.date
        if not wide:
            return frame
        table = frame.pivot(index="display_name", columns="day", values="where")
        return table.reindex(columns=[date.fromisoformat(d) for d in self.grid["days"]])


class CoverageRows(list[dict[str, Any]]):
    """One dict per coverage rule and day (``to_dataframe()``, ``gaps``, ``conflicts``)."""

    def __init__(self, coverage: dict[str, Any]) -> None:
        super().__init__(coverage["cells"])
        self.rules: list[dict[str, Any]] = coverage["rules"]
        self.conflicts: list[dict[str, Any]] = coverage["conflicts"]

    @property
    def gaps(self) -> list[dict[str, Any]]:
        """The uncovered rule x days."""
        return [c for c in self if c["gap"] > 0]

    def to_dataframe(self) -> Any:
        import pandas as pd

        frame = pd.DataFrame(self, columns=["day", "rule", "required", "covered", "gap",
                                            "who", "conflicts"])
        frame["day"] = pd.to_datetime(frame["day"]).dt.date
        frame["who"] = frame["who"].map(", ".join)
        frame["conflicts"] = frame["conflicts"].map("; ".join)
        return frame


class PlannerClient:
    """The planner part of ``AstroOps`` (``ops.planner``)."""

    def __init__(self, ops: Transport, checked: Callable[[Any, Any], Any]) -> None:
        self.ops = ops
        self._checked = checked  # the client's one answer check (``api.checked``)

    def settings(self) -> dict[str, Any]:
        """Location types (and which you may set), coverage rules, limits."""
        return dict(self._checked(PlannerSettings, self.ops._get_json("planner/settings")))

    def employees(self, department: str | None = None,
                  include_inactive: bool = False) -> list[dict[str, Any]]:
        query = {"department": department, "include_inactive": "true" if include_inactive
                 else None}
        employees = self.ops._get_json("planner/employees", query)
        return list(self._checked(list[EmployeeOut], employees))

    def grid(self, start: date | str, end: date | str | None = None, *,
             department: str | None = None, location: str | None = None,
             role: str | None = None, user: str | None = None) -> GridRows:
        """The resolved grid of ``[start, end]`` (defaults included, marked as such)."""
        query = {"start": _day(start), "end": _day(end), "department": department,
                 "location": location, "role": role, "user": user}
        return GridRows(self._checked(GridOut, self.ops._get_json("planner/grid", query)))

    def whereis(self, user: str | None = None, at: datetime | str | None = None
                ) -> dict[str, Any]:
        """Where ``user`` (default: you) is at ``at`` (default: now); see ``["summary"]``."""
        query = {"user": user, "at": _instant(at)}
        return dict(self._checked(WhereIsOut, self.ops._get_json("planner/whereis", query)))

    def entries(self, start: date | str, end: date | str | None = None, *,
                user: str | None = None, department: str | None = None
                ) -> list[dict[str, Any]]:
        """Stored entries (hand and imported, no defaults)."""
        query = {"start": _day(start), "end": _day(end), "user": user,
                 "department": department}
        return list(self._checked(list[EntryOut], self.ops._get_json("planner/entries", query)))

    def set_entry(self, day: date | str, *blocks: Block, user: str | None = None,
                  until: date | str | None = None, weekdays: Iterable[str] | None = None,
                  note: str = "", **transport: Any) -> list[dict[str, Any]]:
        """Set the blocks of a day (or of every day up to ``until``) on your row (or, as a
        planner admin, on ``user``'s): ``set_entry("2026-12-08", ("HQ", "08:00", "12:00"),
        ("WFH", "13:00", "17:00"), note=...)``. A single day that already has your entry is
        changed in place (compare-and-set on its version); a range is written all or none."""
        body_blocks = [_block(b) for b in blocks]
        if until is None:
            who = user or self.ops.me()["identity"]["username"]
            mine = [e for e in self.entries(day, day, user=who) if e["origin"] == "hand"]
            if mine:
                patch = {"blocks": body_blocks, "note": note, "version": mine[0]["version"],
                         **transport}
                out = self.ops._send_json("PATCH", f"planner/entries/{mine[0]['id']}", patch)
                return [dict(self._checked(EntryOut, out))]
        body: dict[str, Any] = {"start_date": _day(day), "end_date": _day(until),
                                "blocks": body_blocks, "note": note, **transport}
        if user is not None:
            body["username"] = user
        if weekdays is not None:
            body["weekdays"] = list(weekdays)
        out = self.ops._send_json("POST", "planner/entries", body)
        return list(self._checked(list[EntryOut], out))

    def delete_entry(self, entry_id: str) -> None:
        """Delete one of your entries (the day falls back to its default)."""
        self.ops._request("DELETE", f"planner/entries/{quote(entry_id)}")

    def coverage(self, start: date | str, end: date | str | None = None) -> CoverageRows:
        """Every coverage rule x day: required, covered, who, gap (``.gaps``)."""
        query = {"start": _day(start), "end": _day(end)}
        coverage = self.ops._get_json("planner/coverage", query)
        return CoverageRows(self._checked(CoverageOut, coverage))

    def holidays(self, start: date | str, end: date | str | None = None,
                 calendar: str | None = None) -> list[dict[str, Any]]:
        query = {"start": _day(start), "end": _day(end), "calendar": calendar}
        return list(self._checked(list[HolidayOut], self.ops._get_json("planner/holidays", query)))

    def swaps(self, open_only: bool = False) -> list[dict[str, Any]]:
        """Swaps asked by you or of you."""
        query = {"open": "true" if open_only else None}
        return list(self._checked(list[SwapOut], self.ops._get_json("planner/swaps", query)))

    def ask_swap(self, entry_id: str, to_user: str, position: int = 0,
                 message: str = "") -> dict[str, Any]:
        """Ask ``to_user`` to take block ``position`` of your entry ``entry_id``."""
        body = {"entry_id": entry_id, "to_user": to_user, "position": position,
                "message": message}
        return dict(self._checked(SwapOut, self.ops._send_json("POST", "planner/swaps", body)))

    def decide_swap(self, swap_id: str, decision: str, message: str = "") -> dict[str, Any]:
        """``accept``/``decline`` (asked), ``approve``/``deny`` (admin), ``withdraw``."""
        body = {"decision": decision, "message": message}
        out = self.ops._send_json("PUT", f"planner/swaps/{swap_id}", body)
        return dict(self._checked(SwapOut, out))

    def imports(self) -> list[dict[str, Any]]:
        """The last run of each import."""
        return list(self._checked(list[PlannerImportStatus], self.ops._get_json("planner/imports")))

    def run_import(self, name: str, dry_run: bool = False) -> dict[str, Any]:
        """Run the configured ``night`` or ``leave`` import now (planner admins)."""
        body = {"dry_run": dry_run}
        return dict(self._checked(ImportResult, self.ops._send_json(
            "POST", f"planner/imports/{quote(name)}", body)))


__all__ = ["CoverageRows", "GridRows", "PlannerClient"]
