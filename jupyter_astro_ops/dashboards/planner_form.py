"""The cell form of the People Planner: edit one person's day, offer a duty, report outcomes.

``CellForm`` is a Viewer of its own (param state, widgets from ``from_param``) that the
``planner_view.PlannerDashboard`` places beside the grid. It opens a cell only if the user may
edit it (their own row, any row for a planner admin: the service's rule), starts from what the
cell shows (the stored blocks, else the default), and Save / Delete / Ask go through the
planner's parts, so a refusal is the API's own message. ``run`` carries out any action of the
page (swap decisions too) and shows its outcome here.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

import panel as pn
import panel_material_ui as pmui
import param
import pydantic

from ..planner.schemas import (
    BlockIn,
    EntryIn,
    EntryPatch,
    GridBlock,
    GridCell,
    LocationTypeOut,
    PlannerSettings,
    SwapIn,
)
from .planner_source import PlannerSource
from .tasks import run_blocking
from .widgets import alert

NONE = "(none)"
FORM_WIDTH = 320
CellLookup = Callable[[str, date], GridCell | None]


class CellForm(pn.viewable.Viewer):
    """The form of one cell: up to two blocks, a note, an optional last day, a duty offer."""

    editing = param.Tuple(default=None, allow_None=True, length=2,
                          doc="(username, day) of the cell in the form.")
    until = param.CalendarDate(default=None, allow_None=True, label="Until (optional)")
    loc1: param.Selector = param.Selector(default=NONE, objects=[NONE], label="Block 1")
    start1 = param.String(default="08:00", label="From")
    end1 = param.String(default="17:00", label="To")
    loc2: param.Selector = param.Selector(default=NONE, objects=[NONE], label="Block 2")
    start2 = param.String(default="", label="From")
    end2 = param.String(default="", label="To")
    note = param.String(default="", label="Note")
    offer_to: param.Selector = param.Selector(default=NONE, objects=[NONE],
                                              label="Offer this duty to")
    notice = param.String(default="", doc="Outcome of the last action.")
    refusal = param.String(default="", doc="The service's message for the last refusal.")

    def __init__(self, source: PlannerSource, cell_of: CellLookup,
                 on_change: Callable[[], None], **params: Any) -> None:
        super().__init__(**params)
        self.source = source
        self.cell_of = cell_of
        self.on_change = on_change
        self.types: dict[str, LocationTypeOut] = {}
        self.names: dict[str, str] = {}
        self._build_widgets()

    def configure(self, settings: PlannerSettings, names: dict[str, str]) -> None:
        """The locations the user may set and the colleagues a duty may be offered to."""
        self.types = {t.code: t for t in settings.locations}
        self.names = names
        mine = [t.code for t in settings.locations if t.settable]
        self.param.loc1.objects = [NONE, *mine]
        self.param.loc2.objects = [NONE, *mine]
        me = self.source.user.username
        self.param.offer_to.objects = [NONE, *(n for n in names if n != me)]

    def refuse(self, text: str, _kind: str = "error") -> None:
        """Show ``text`` as the refusal (a failed load, too)."""
        self.refusal = text

    def clear(self) -> None:
        """Forget the outcome of the last action (it is stale after a navigation)."""
        self.notice = self.refusal = ""

    # -- opening a cell ----------------------------------------------------------------------
    def select_cell(self, username: str, day: date) -> None:
        """Open ``username``'s cell of ``day`` (if the user may edit it)."""
        self.refusal = ""
        if not self.source.may_edit(username):
            self.notice = (f"{self.names.get(username, username)}'s row is read-only for you: "
                           "you edit your own row (planner admins edit any).")
            self.editing = None
            return
        self.notice = ""
        self.until = None
        self.editing = (username, day)
        self.refill()

    def refill(self) -> None:
        """Load the open cell's blocks into the form (after a reload too)."""
        if self.editing is None:
            return
        cell = self.cell_of(*self.editing)
        values: dict[str, Any] = {"loc1": NONE, "start1": "08:00", "end1": "17:00",
                                  "loc2": NONE, "start2": "", "end2": "",
                                  "note": "", "offer_to": NONE}
        for number, block in enumerate((cell.blocks if cell else [])[:2], 1):
            if block.kind == "holiday":
                continue
            loc = block.location if block.location in self.param[f"loc{number}"].objects \
                else NONE
            values.update({f"loc{number}": loc, f"start{number}": block.local_start,
                           f"end{number}": block.local_end})
        stored = self.stored()
        if stored:
            values["note"] = stored[0].note
        self.param.update(**values)
        self._update_form()

    def stored(self) -> list[GridBlock]:
        """The stored (hand first, then imported) blocks of the open cell: what Save changes."""
        if self.editing is None:
            return []
        cell = self.cell_of(*self.editing)
        blocks = [b for b in (cell.blocks if cell else []) if b.entry_id]
        return sorted(blocks, key=lambda b: b.kind != "stored")

    def duty(self) -> tuple[str, int] | None:
        """``(entry id, position)`` of a duty block in the user's own open cell."""
        if self.editing is None or self.editing[0] != self.source.user.username:
            return None
        seen: dict[str, int] = {}
        for block in self.stored():
            position = seen.get(str(block.entry_id), 0)
            seen[str(block.entry_id)] = position + 1
            kind = self.types.get(block.location)
            if kind is not None and kind.kind == "duty":
                return str(block.entry_id), position
        return None

    # -- actions ---------------------------------------------------------------------------
    def _blocks(self) -> list[BlockIn]:
        out = []
        for number in (1, 2):
            loc = getattr(self, f"loc{number}")
            if loc != NONE:
                out.append(BlockIn(location=loc, start=getattr(self, f"start{number}").strip(),
                                   end=getattr(self, f"end{number}").strip()))
        return out

    def save(self) -> None:
        """Store the form's blocks on the cell (changing its stored entry, if any)."""
        if self.editing is None:
            return
        username, day = self.editing
        try:
            blocks = self._blocks()
            if not blocks:
                self.refusal = "Pick a location for block 1 (or use Delete to clear the day)."
                return
            stored = self.stored()
            if stored and self.until is None:
                first = stored[0]
                patch = EntryPatch(blocks=blocks, note=self.note, version=first.version)
                work: Callable[[], Any] = partial(self.source.modify, str(first.entry_id), patch)
            else:
                spec = EntryIn(username=username, start_date=day, end_date=self.until,
                               blocks=blocks, note=self.note)
                work = partial(self.source.create, spec)
        except pydantic.ValidationError as exc:  # a malformed time in the form
            self.refusal = first_error(exc)
            return
        self.run(work, "Saved")

    def delete(self) -> None:
        """Delete the cell's stored entry: the day falls back to its default."""
        stored = self.stored()
        if not stored:
            self.refusal = "Nothing is stored on this day (it shows the default)."
            return
        first = stored[0]
        self.run(partial(self.source.delete, str(first.entry_id), first.version or 0),
                 "Deleted")

    def offer(self) -> None:
        """Ask the chosen colleague to take the cell's duty block (a swap request)."""
        duty = self.duty()
        if duty is None or self.offer_to == NONE:
            self.refusal = "Pick a duty block of yours and a colleague."
            return
        spec = SwapIn(entry_id=duty[0], position=duty[1], to_user=self.offer_to)
        self.run(partial(self.source.ask, spec), "Asked")

    def run(self, work: Callable[[], Any], verb: str) -> None:
        """Carry out ``work`` off the event loop; show the outcome or the refusal here."""

        def done(_result: Any) -> None:
            self.refusal = ""
            if self.editing is not None:
                username, day = self.editing
                self.notice = f"{verb}: {self.names.get(username, username)}, {day:%a %d %b %Y}."
            else:
                self.notice = f"{verb}."
            self.on_change()

        def fail(exc: Exception) -> None:
            self.refusal = first_error(exc)

        run_blocking(work, done, fail)

    # -- views -----------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        width = FORM_WIDTH
        self._save = pmui.Button(label="Save", color="primary", width=80)
        self._delete = pmui.Button(label="Delete entry", color="error", width=130)
        self._close = pmui.Button(label="Close", width=80)
        self._ask = pmui.Button(label="Ask", width=60)
        for button, action in ((self._save, self.save), (self._delete, self.delete),
                               (self._close, self.close), (self._ask, self.offer)):
            button.on_click(partial(clicked, action))
        self._offer_row = pn.Row(pmui.Select.from_param(self.param.offer_to, width=200),
                                 self._ask)
        self._form = pn.Column(
            pmui.DatePicker.from_param(self.param.until, width=width),
            pn.Row(pmui.Select.from_param(self.param.loc1, width=130),
                   pmui.TextInput.from_param(self.param.start1, width=75),
                   pmui.TextInput.from_param(self.param.end1, width=75)),
            pn.Row(pmui.Select.from_param(self.param.loc2, width=130),
                   pmui.TextInput.from_param(self.param.start2, width=75),
                   pmui.TextInput.from_param(self.param.end2, width=75)),
            pmui.TextAreaInput.from_param(self.param.note, rows=2, width=width),
            pn.Row(self._save, self._delete, self._close), self._offer_row,
            width=width + 20, visible=False)

    def close(self) -> None:
        self.editing = None
        self.refusal = ""

    @param.depends("editing", watch=True)
    def _update_form(self) -> None:
        self._form.visible = self.editing is not None
        self._delete.disabled = not self.stored()
        self._offer_row.visible = self.duty() is not None

    @param.depends("editing", "refusal", "notice")
    def heading(self) -> pn.viewable.Viewable:
        """Whose cell is open, and the last outcome or refusal."""
        parts: list[Any] = []
        if self.editing is not None:
            username, day = self.editing
            who = html.escape(self.names.get(username, username))
            whose = "your" if username == self.source.user.username else f"{who}'s"
            parts.append(pn.pane.Markdown(f"### Edit {whose} day\n{day:%A %d %B %Y} "
                                          "(times are local to the person)"))
        elif not self.notice:
            admin = " (any row: you are a planner admin)" if self.source.admin else ""
            parts.append(pn.pane.Markdown(f"### Edit\nClick a cell of your own row to change "
                                          f"your day{admin}."))
        if self.refusal:
            parts.append(alert(html.escape(self.refusal), "error"))
        if self.notice:
            parts.append(alert(html.escape(self.notice), "info"))
        return pn.Column(*parts, width=FORM_WIDTH + 20)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.heading, self._form, width=FORM_WIDTH + 20)


def clicked(action: Callable[[], None], _event: Any) -> None:
    """A button callback that runs ``action`` (buttons pass an event it does not need)."""
    action()


def first_error(exc: Exception) -> str:
    """The service's message (or pydantic's first complaint, naming the field)."""
    if isinstance(exc, pydantic.ValidationError) and exc.errors():
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}"
    return getattr(exc, "message", None) or str(exc)


__all__ = ["FORM_WIDTH", "NONE", "CellForm", "clicked", "first_error"]
