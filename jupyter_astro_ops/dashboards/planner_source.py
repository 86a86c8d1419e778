"""People Planner dashboard, data side: ``PlannerSource``, windows, cell rendering, live feed.

``PlannerSource`` is the blocking data access of one user through the planner's parts (every
rule, authorization included, stays in the service); ``window_label`` names a view's days
(``windows.days_of``); ``grid_frame`` turns a grid and its coverage into the table the Viewer
shows: coverage rows first (a gap is red), then one row per employee, one HTML cell per day.
Every piece of user text (names, notes, holiday names) is HTML-escaped here. The Viewer is
``planner_view.PlannerDashboard``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd

from ..compose import PlannerParts
from ..core.identity import User
from ..core.timeutil import utcnow
from ..planner.schemas import (
    CoverageCell,
    CoverageOut,
    EntryIn,
    EntryOut,
    EntryPatch,
    GridBlock,
    GridCell,
    GridOut,
    LocationTypeOut,
    PlannerSettings,
    SwapDecisionIn,
    SwapIn,
    SwapOut,
    WhereIsOut,
)
from .windows import days_of

# Planner rows are public inside the organisation; the feed is only a *signal* to reload (read
# as the session's user), so it is watched with this process-internal identity.
WATCHER = User("astro-ops:planner-dashboard", "Planner dashboard", roles=frozenset({"admin"}))
OBJECT_TYPES = ["PLANNER_ENTRY", "PLANNER_SWAP", "PLANNER_HOLIDAY", "PLANNER_IMPORT",
                "PLANNER_EMPLOYEE"]
WHO, USERNAME, ROW_KIND = "who", "username", "row"
HOLIDAY_COLOUR = "#9e9e9e"
GAP_COLOUR = "#d62728"
OK_COLOUR = "#e3f2e6"


def window_label(view: str, day: date | None) -> str:
    """``**Mon 07 Dec 2026** to **Sun 13 Dec 2026**``: the window in words."""
    first, last = days_of(view, day or utcnow().date())
    text = f"**{first:%a %d %b %Y}**"
    return text if view == "day" else f"{text} to **{last:%a %d %b %Y}**"


def column_label(day: date, view: str) -> str:
    """The header of a day column (``Mon 07 Dec``; ``M07`` in the month view)."""
    return f"{day:%a}"[0] + f"{day:%d}" if view == "month" else f"{day:%a %d %b}"


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (``#rrggbb``)."""
    r, g, b = (int(background[i:i + 2], 16) for i in (1, 3, 5))
    return "#111" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"


def _label(block: GridBlock, types: Mapping[str, LocationTypeOut]) -> str:
    kind = types.get(block.location)
    return kind.label if kind is not None else block.location


def block_html(block: GridBlock, types: Mapping[str, LocationTypeOut], view: str) -> str:
    """One block as a coloured chip: solid = stored, ↓ dotted = imported, pale dashed italic =
    default (generated, not stored), hatched grey = holiday."""
    kind = types.get(block.location)
    colour = kind.colour if kind is not None else HOLIDAY_COLOUR
    code = "Holiday" if block.kind == "holiday" else block.location
    times = f"{block.local_start}-{block.local_end}"
    if view == "month":
        text = code[:4]
    elif view == "legend":
        text = code
    elif view == "week":
        text = f"{code} {times}"
    else:
        text = f"{_label(block, types)} {times}"
        if block.note:
            text += f" · {block.note[:60]}"
    # a week's "FamilySick 08:00-17:00" wraps inside its chip rather than being cut by the cell
    wrap = "nowrap" if view in ("month", "legend") else "normal"
    style = f"display:inline-block;padding:1px 4px;margin:1px;border-radius:3px;white-space:{wrap};"
    if view == "month":
        style += "font-size:85%;padding:1px 2px;"
    elif view == "week":
        style += "font-size:88%;"
    if block.kind == "default":
        style += f"background:{colour}26;color:#333;font-style:italic;border:1px dashed {colour};"
    elif block.kind == "holiday":
        style += ("color:#222;background:repeating-linear-gradient(45deg,#e0e0e0,#e0e0e0 4px,"
                  "#f7f7f7 4px,#f7f7f7 8px);border:1px solid #9e9e9e;")
    else:
        fg = text_colour(colour)
        style += f"background:{colour};color:{fg};font-weight:600;"
        if block.kind == "import":
            style += f"outline:2px dotted {fg};outline-offset:-3px;"
            text = text if view == "month" else f"↓{text}"  # the month view has no room
    source = {"stored": "stored by hand", "import": f"imported ({block.source})",
              "default": "default (not stored)", "holiday": "holiday"}[block.kind]
    utc = f"{block.start:%H:%M}-{block.end:%H:%M} UTC"
    tip = f"{_label(block, types)} {times} local ({utc}) - {source}" + (
        f" - {block.note}" if block.note else "")
    return (f'<span class="pp-{block.kind}" title="{html.escape(tip)}" style="{style}">'
            f"{html.escape(text)}</span>")


def cell_html(cell: GridCell, types: Mapping[str, LocationTypeOut], view: str) -> str:
    """A grid cell: a red warning for conflicts first, its blocks one under the other, the
    holiday's name (the row grows rather than hiding the second block)."""
    parts = []
    if cell.conflicts:
        tip = html.escape("; ".join(cell.conflicts))
        parts.append(f'<span class="pp-conflict" title="{tip}" style="color:{GAP_COLOUR};'
                     'font-weight:700">⚠</span>')
    parts += [block_html(b, types, view) for b in cell.blocks]
    if cell.holiday and not any(b.kind == "holiday" for b in cell.blocks) and view != "month":
        parts.append(f'<span style="color:#666;font-size:85%">{html.escape(cell.holiday)}'
                     "</span>")
    if len(parts) < 2:
        return "".join(parts)
    return ('<div style="display:flex;flex-direction:column;align-items:flex-start;'
            f'white-space:normal">{"".join(parts)}</div>')


def coverage_html(cell: CoverageCell | None, view: str,
                  names: Mapping[str, str] | None = None) -> str:
    """A coverage cell: red with the gap when uncovered, pale green when covered."""
    if cell is None:
        return ""
    who = [(names or {}).get(u, u) for u in cell.who]
    text = f"{cell.covered}/{cell.required}"
    if view != "month" and who:
        text += " " + ", ".join(who)
    tip = f"{cell.rule} on {cell.day:%a %d %b}: {cell.covered} of {cell.required}"
    if who:
        tip += f" ({', '.join(who)})"
    if cell.conflicts:
        tip += "; " + "; ".join(cell.conflicts)
    if cell.gap:
        style = f"background:{GAP_COLOUR};color:#fff;font-weight:700"
        text = ("⚠ " if cell.conflicts and view != "month" else "") + text
        klass = "pp-gap"
    else:
        style, klass = f"background:{OK_COLOUR};color:#1b5e20", "pp-covered"
    return (f'<span class="{klass}" title="{html.escape(tip)}" style="display:inline-block;'
            f'padding:1px 4px;border-radius:3px;white-space:normal;{style}">'
            f"{html.escape(text)}</span>")  # who covers wraps, as a long name needs


def grid_frame(grid: GridOut, coverage: CoverageOut | None,
               types: Mapping[str, LocationTypeOut], view: str
               ) -> tuple[pd.DataFrame, dict[str, date]]:
    """The table: coverage rows, then employee rows; and ``{column label: day}``."""
    labels = {column_label(d, view): d for d in grid.days}
    names = {r.username: r.display_name for r in grid.rows}
    rows: list[dict[str, Any]] = []
    if coverage is not None:
        cells = {(c.rule, c.day): c for c in coverage.cells}
        for rule in coverage.rules:
            row = {WHO: f"Coverage · {rule.name}", USERNAME: "",
                   ROW_KIND: "coverage"}
            row.update({label: coverage_html(cells.get((rule.name, d)), view, names)
                        for label, d in labels.items()})
            rows.append(row)
    for person in grid.rows:
        row = {WHO: f"{person.display_name} · {person.department}", USERNAME: person.username,
               ROW_KIND: "person"}
        row.update({column_label(c.day, view): cell_html(c, types, view) for c in person.cells})
        rows.append(row)
    columns = [WHO, *labels, USERNAME, ROW_KIND]
    return pd.DataFrame(rows, columns=columns).fillna(""), labels


def legend_html(types: Sequence[LocationTypeOut]) -> str:
    """Colour swatches of the location types and the four kinds of block."""
    chips = "".join(
        f'<span style="display:inline-block;margin:2px 6px 2px 0;padding:1px 5px;'
        f'border-radius:3px;background:{t.colour};color:{text_colour(t.colour)}">'
        f"{html.escape(t.code)}</span><span style=\"margin-right:10px\">"
        f"{html.escape(t.label)}</span>" for t in types)
    sample = GridBlock(location="HQ", start=utcnow(), end=utcnow(), local_start="08:00",
                       local_end="17:00", kind="stored")
    known = {t.code: t for t in types}
    kinds = " ".join(
        block_html(sample.model_copy(update={"kind": k, "location": code}), known, "legend")
        + f" {word}" for k, code, word in (
            ("stored", "HQ", "stored by hand"), ("import", "HQ", "imported"),
            ("default", "HQ", "default (generated, not stored)"),
            ("holiday", "HQ", "holiday")) if "HQ" in known or k == "holiday")
    gap = coverage_html(CoverageCell(rule="", day=utcnow().date(), required=1, covered=0,
                                     who=[], gap=1), "month")
    return (f'<div style="font-size:90%">{chips}</div><div style="font-size:90%;margin-top:4px">'
            f"{kinds} &nbsp; {gap} uncovered &nbsp; "
            f'<span style="color:{GAP_COLOUR};font-weight:700">⚠</span> duty on leave</div>')


def describe_swap(swap: SwapOut, names: Mapping[str, str]) -> str:
    """``Bob Night asks Carol Assist to take SUNight 18:00-06:00 on Mon 07 Dec``."""
    block = swap.block
    what = f"{block.location} {block.local_start}-{block.local_end}" if block else "a block"
    return (f"{names.get(swap.requester, swap.requester)} asks "
            f"{names.get(swap.target, swap.target)} to take {what} on {swap.day:%a %d %b}")


class PlannerSource:
    """Blocking data access for one user; every rule is the planner's."""

    def __init__(self, parts: PlannerParts, user: User) -> None:
        self.parts = parts
        self.user = user

    @property
    def admin(self) -> bool:
        return self.parts.service.is_admin(self.user)

    def settings(self) -> PlannerSettings:
        return self.parts.service.settings(self.user)

    def names(self) -> dict[str, str]:
        """``{username: display name}`` of the active employees."""
        return {e.username: e.display_name for e in
                self.parts.employees.list_employees(self.user)}

    def grid(self, first: date, last: date, department: str | None = None,
             location: str | None = None, role: str | None = None,
             only_me: bool = False) -> GridOut:
        return self.parts.service.grid(self.user, first, last, department, location, role,
                                       self.user.username if only_me else None)

    def coverage(self, first: date, last: date) -> CoverageOut:
        return self.parts.service.coverage(self.user, first, last)

    def whereis(self, username: str) -> WhereIsOut:
        return self.parts.service.whereis(self.user, username)

    def create(self, spec: EntryIn) -> list[EntryOut]:
        return self.parts.service.create_entries(self.user, spec)

    def modify(self, entry_id: str, patch: EntryPatch) -> EntryOut:
        return self.parts.service.modify_entry(self.user, entry_id, patch)

    def delete(self, entry_id: str, version: int) -> EntryOut:
        return self.parts.service.delete_entry(self.user, entry_id, version)

    def swaps(self) -> list[SwapOut]:
        """Open swaps asked by or of the user, and (planner admins) those awaiting approval."""
        mine = self.parts.swaps.list_swaps(self.user, open_only=True)
        if self.admin:
            seen = {s.id for s in mine}
            mine += [s for s in self.parts.swaps.list_swaps(self.user, everyone=True,
                                                            open_only=True)
                     if s.id not in seen and s.state == "accepted"]
        return mine

    def ask(self, spec: SwapIn) -> SwapOut:
        return self.parts.swaps.ask(self.user, spec)

    def decide(self, swap_id: str, decision: str) -> SwapOut:
        return self.parts.swaps.decide(self.user, swap_id,
                                       SwapDecisionIn(decision=decision))  # type: ignore[arg-type]

    def may_edit(self, username: str) -> bool:
        """The service's rule: your own row, or anyone's for a planner admin."""
        return bool(username) and (username == self.user.username or self.admin)
