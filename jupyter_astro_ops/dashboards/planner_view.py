"""The People Planner dashboard: employees x days, coverage, "where is", editing your cells.

``PlannerDashboard`` is the Viewer: its state is param Parameters (the window: ``view`` and
``day``; the filters; the "where is" query; the cell being edited and its form), its widgets
are built from them per instance, and it works the same in a notebook::

    dash = PlannerDashboard(source=PlannerSource(services.planner, user)); dash.load(); dash

The grid is a Tabulator of HTML cells coloured by location type (``planner_source``): solid
chips are stored by hand, dotted ones with an arrow imported, pale dashed italic ones the
generated defaults, hatched ones holidays; coverage rows on top mark gaps in red. Clicking a
cell of your own row (any row for a planner admin) opens it in the form; Save and Delete go
through the planner service, so the refusals are the API's own messages. Pending swaps can be
accepted, declined, approved or withdrawn. Under ``panel serve`` ``follow(hub)`` watches the
planner's activity events and reloads, so other people's changes appear live.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

import pandas as pd
import panel as pn
import param
import pydantic

from ..core.identity import User
from ..core.timeutil import utcnow
from ..planner.schemas import (
    BlockIn,
    CoverageOut,
    EntryIn,
    EntryPatch,
    GridCell,
    GridOut,
    LocationTypeOut,
    PlannerSettings,
    SwapIn,
    SwapOut,
)
from .planner_source import (
    ROW_KIND,
    USERNAME,
    WHO,
    PlannerSource,
    describe_swap,
    follow_planner,
    grid_frame,
    legend_html,
    step,
    window_for,
    window_label,
)
from .tasks import follow_while_open, run_blocking, served

log = logging.getLogger(__name__)
ALL = "(all)"
NONE = "(none)"
FORM_WIDTH = 320
WIDTHS = {"day": 420, "week": 150, "month": 52}

Data = tuple[PlannerSettings, dict[str, str], GridOut, CoverageOut, list[SwapOut]]


class PlannerDashboard(pn.viewable.Viewer):
    """Where everyone is over a day, week or month; edit your own cells."""

    view: param.Selector = param.Selector(default="week", objects=["day", "week", "month"],
                                          label="View")
    day = param.CalendarDate(default=None, allow_None=True, label="Go to date")
    department: param.Selector = param.Selector(default=ALL, objects=[ALL], label="Department")
    location: param.Selector = param.Selector(default=ALL, objects=[ALL], label="Location")
    role: param.Selector = param.Selector(default=ALL, objects=[ALL], label="Role")
    only_me = param.Boolean(default=False, label="Only me")
    search = param.String(default="", label="Where is ...")
    answer = param.String(default="", doc="The answer to the last 'where is' question.")
    frame = param.DataFrame(default=pd.DataFrame(columns=[WHO, USERNAME, ROW_KIND]),
                            doc="The visible grid.")
    notice = param.String(default="", doc="Outcome of the last action.")
    refusal = param.String(default="", doc="The service's message for the last refusal.")
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
    swaps = param.List(default=[], doc="Open swaps of the user (and approvals for admins).")

    def __init__(self, source: PlannerSource, **params: Any) -> None:
        params.setdefault("day", utcnow().date())
        super().__init__(**params)
        self.source = source
        self.settings: PlannerSettings | None = None
        self.types: dict[str, LocationTypeOut] = {}
        self.names: dict[str, str] = {}
        self.grid: GridOut | None = None
        self.coverage_data: CoverageOut | None = None
        self.labels: dict[str, date] = {}
        self._build_widgets()

    # -- data ------------------------------------------------------------------------------
    @property
    def window(self) -> tuple[date, date]:
        return window_for(self.view, self.day or utcnow().date())

    def _filters(self) -> dict[str, Any]:
        pick = {k: getattr(self, k) for k in ("department", "location", "role")}
        return {k: (None if v == ALL else v) for k, v in pick.items()} | {
            "only_me": self.only_me}

    def fetch(self) -> Data:
        """Everything the page shows (blocking, no state change)."""
        first, last = self.window
        return (self.source.settings(), self.source.names(),
                self.source.grid(first, last, **self._filters()),
                self.source.coverage(first, last), self.source.swaps())

    def fetch_window(self) -> tuple[GridOut, CoverageOut, list[SwapOut]]:
        first, last = self.window
        return (self.source.grid(first, last, **self._filters()),
                self.source.coverage(first, last), self.source.swaps())

    def load(self) -> None:
        """Fetch and show (blocking; for notebooks and tests)."""
        self.set_data(*self.fetch())

    def set_data(self, settings: PlannerSettings, names: dict[str, str], grid: GridOut,
                 coverage: CoverageOut, swaps: list[SwapOut]) -> None:
        self.settings = settings
        self.types = {t.code: t for t in settings.locations}
        self.names = names
        departments = sorted({r.department for r in grid.rows})
        self.param.department.objects = [ALL, *departments]
        self.param.location.objects = [ALL, *self.types]
        roles = sorted({role for r in grid.rows for role in r.roles})
        self.param.role.objects = [ALL, *roles]
        mine = [t.code for t in settings.locations if t.settable]
        self.param.loc1.objects = [NONE, *mine]
        self.param.loc2.objects = [NONE, *mine]
        self.param.offer_to.objects = [NONE, *(n for n in names if n != self.source.user.username)]
        self._search.options = sorted(f"{v} ({k})" for k, v in names.items())
        self._legend.object = legend_html(settings.locations)
        self.set_window(grid, coverage, swaps)

    def set_window(self, grid: GridOut, coverage: CoverageOut, swaps: list[SwapOut]) -> None:
        self.grid, self.coverage_data, self.swaps = grid, coverage, swaps
        frame, self.labels = grid_frame(grid, coverage, self.types, self.view)
        width = WIDTHS[self.view]
        self._table.param.update(
            formatters={label: "html" for label in self.labels},
            widths={WHO: 210, **{label: width for label in self.labels}},
            frozen_rows=list(range(len(coverage.rules))))
        self.frame = frame
        if self.editing is not None:
            self._fill_form(*self.editing)

    def reload(self) -> None:
        """Re-read the window (after a navigation, a filter, an action or a feed event)."""
        self._background(self.fetch_window, lambda data: self.set_window(*data))

    @param.depends("view", "day", "department", "location", "role", "only_me", watch=True)
    def _changed(self) -> None:
        if self.settings is not None:
            self.reload()

    def navigate(self, direction: int) -> None:
        """Previous (``-1``), today (``0``) or next (``+1``) day / week / month."""
        today = utcnow().date()
        self.day = today if direction == 0 else step(self.view, self.day or today, direction)

    # -- where is --------------------------------------------------------------------------
    @param.depends("search", watch=True)
    def _asked(self) -> None:
        username = self._username_of(self.search)
        if not username:
            self.answer = "" if not self.search else f"Nobody called {self.search!r}."
            return
        self._background(partial(self.source.whereis, username),
                         lambda where: setattr(self, "answer", where.summary),
                         refused=lambda text: setattr(self, "answer", text))

    def _username_of(self, text: str) -> str | None:
        text = text.strip()
        if text.endswith(")") and "(" in text:
            text = text.rsplit("(", 1)[1][:-1]
        if text in self.names:
            return text
        lowered = {v.lower(): k for k, v in self.names.items()}
        return lowered.get(text.lower())

    # -- editing ---------------------------------------------------------------------------
    def _cell(self, username: str, day: date) -> GridCell | None:
        for row in self.grid.rows if self.grid else []:
            if row.username == username:
                return next((c for c in row.cells if c.day == day), None)
        return None

    def select_cell(self, username: str, day: date) -> None:
        """Open ``username``'s cell of ``day`` in the form (if the user may edit it)."""
        self.refusal = ""
        if not self.source.may_edit(username):
            self.notice = (f"{self.names.get(username, username)}'s row is read-only for you: "
                           "you edit your own row (planner admins edit any).")
            self.editing = None
            return
        self.notice = ""
        self.until = None
        self.editing = (username, day)
        self._fill_form(username, day)

    def _fill_form(self, username: str, day: date) -> None:
        cell = self._cell(username, day)
        blocks = cell.blocks if cell else []
        values: dict[str, Any] = {"loc1": NONE, "start1": "08:00", "end1": "17:00",
                                  "loc2": NONE, "start2": "", "end2": "",
                                  "note": "", "offer_to": NONE}
        for number, block in enumerate(blocks[:2], 1):
            if block.kind == "holiday":
                continue
            loc = block.location if block.location in self.param[f"loc{number}"].objects \
                else NONE
            values.update({f"loc{number}": loc, f"start{number}": block.local_start,
                           f"end{number}": block.local_end})
        stored = self._stored(username, day)
        if stored:
            values["note"] = stored[0].note
        self.param.update(**values)
        self._update_form()

    def _stored(self, username: str, day: date) -> list[Any]:
        """The stored (hand first, then imported) blocks of a cell: what Save changes."""
        cell = self._cell(username, day)
        blocks = [b for b in (cell.blocks if cell else []) if b.entry_id]
        return sorted(blocks, key=lambda b: b.kind != "stored")

    def _form_blocks(self) -> list[BlockIn]:
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
            blocks = self._form_blocks()
            if not blocks:
                self.refusal = "Pick a location for block 1 (or use Delete to clear the day)."
                return
            stored = self._stored(username, day)
            if stored and self.until is None:
                first = stored[0]
                patch = EntryPatch(blocks=blocks, note=self.note, version=first.version)
                work: Callable[[], Any] = partial(self.source.modify, first.entry_id, patch)
            else:
                spec = EntryIn(username=username, start_date=day, end_date=self.until,
                               blocks=blocks, note=self.note)
                work = partial(self.source.create, spec)
        except Exception as exc:  # pydantic: a malformed time in the form
            self.refusal = _first_error(exc)
            return
        self._background(work, partial(self._done, "Saved"))

    def delete(self) -> None:
        """Delete the cell's stored entry: the day falls back to its default."""
        if self.editing is None:
            return
        stored = self._stored(*self.editing)
        if not stored:
            self.refusal = "Nothing is stored on this day (it shows the default)."
            return
        first = stored[0]
        self._background(partial(self.source.delete, first.entry_id, first.version or 0),
                         partial(self._done, "Deleted"))

    def offer(self) -> None:
        """Ask the chosen colleague to take the cell's duty block (a swap request)."""
        duty = self._duty()
        if duty is None or self.offer_to == NONE:
            self.refusal = "Pick a duty block of yours and a colleague."
            return
        position = duty[1]
        spec = SwapIn(entry_id=duty[0], position=position, to_user=self.offer_to)
        self._background(partial(self.source.ask, spec), partial(self._done, "Asked"))

    def _duty(self) -> tuple[str, int] | None:
        if self.editing is None or self.editing[0] != self.source.user.username:
            return None
        by_entry: dict[str, int] = {}
        for block in self._stored(*self.editing):
            position = by_entry.get(str(block.entry_id), 0)
            by_entry[str(block.entry_id)] = position + 1
            kind = self.types.get(block.location)
            if kind is not None and kind.kind == "duty":
                return str(block.entry_id), position
        return None

    def decide(self, swap_id: str, decision: str) -> None:
        self._background(partial(self.source.decide, swap_id, decision),
                         partial(self._done, decision.capitalize() + "d"))

    def _done(self, verb: str, _result: Any) -> None:
        self.refusal = ""
        if self.editing is not None:
            username, day = self.editing
            who = self.names.get(username, username)
            self.notice = f"{verb}: {who}, {day:%a %d %b %Y}."
        else:
            self.notice = f"{verb}."
        self.reload()

    def _background(self, work: Callable[[], Any], done: Callable[[Any], None],
                    refused: Callable[[str], None] | None = None) -> None:
        def fail(exc: Exception) -> None:
            if refused is not None:
                refused(_first_error(exc))
            else:
                self.refusal = _first_error(exc)

        run_blocking(work, done, fail)

    # -- live feed -------------------------------------------------------------------------
    async def follow(self, hub: Any) -> None:
        """Reload after planner changes by anyone (one reload per burst)."""
        doc = pn.state.curdoc if served() else None

        async def reload() -> None:
            data = await asyncio.to_thread(self.fetch_window)
            if doc is not None:
                doc.add_next_tick_callback(partial(self.set_window, *data))
            else:
                self.set_window(*data)

        await follow_planner(hub, reload)

    # -- views -----------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        nav = [pn.widgets.Button(label=label, width=64) for label in ("◀", "Today", "▶")]
        for button, direction in zip(nav, (-1, 0, 1), strict=True):
            button.on_click(partial(_clicked, partial(self.navigate, direction)))
        self._search = pn.widgets.AutocompleteInput.from_param(
            self.param.search, options=[], case_sensitive=False, search_strategy="includes",
            placeholder="a name, e.g. Observer One", width=240, restrict=False)
        self._nav = pn.Row(
            *nav, pn.widgets.RadioButtonGroup.from_param(self.param.view, width=190),
            pn.widgets.DatePicker.from_param(self.param.day, width=140),
            pn.bind(window_label, self.param.view, self.param.day))
        self._filters_row = pn.Row(
            pn.widgets.Select.from_param(self.param.department, width=170),
            pn.widgets.Select.from_param(self.param.location, width=130),
            pn.widgets.Select.from_param(self.param.role, width=170),
            pn.widgets.Checkbox.from_param(self.param.only_me, width=90, margin=(28, 10, 0, 10)),
            self._search)
        self._table = pn.widgets.Tabulator.from_param(
            self.param.frame, show_index=False, disabled=True, selectable=False,
            sortable=False, hidden_columns=[USERNAME, ROW_KIND], frozen_columns=[WHO],
            titles={WHO: "Who"}, layout="fit_columns", pagination=None, height=760,
            sizing_mode="stretch_width", name="planner-grid",
            configuration={"columnDefaults": {"headerSort": False}})
        self._table.on_click(self._clicked_cell)
        self._legend = pn.pane.HTML("", sizing_mode="stretch_width")
        width = FORM_WIDTH
        self._save = pn.widgets.Button(label="Save", color="primary", width=90)
        self._delete = pn.widgets.Button(label="Delete entry", color="danger", width=110)
        self._cancel = pn.widgets.Button(label="Close", width=80)
        self._ask = pn.widgets.Button(label="Ask", width=60)
        for button, action in ((self._save, self.save), (self._delete, self.delete),
                               (self._cancel, self._close), (self._ask, self.offer)):
            button.on_click(partial(_clicked, action))
        self._offer_row = pn.Row(pn.widgets.Select.from_param(self.param.offer_to, width=200),
                                 self._ask)
        self._form = pn.Column(
            pn.widgets.DatePicker.from_param(self.param.until, width=width),
            pn.Row(pn.widgets.Select.from_param(self.param.loc1, width=140),
                   pn.widgets.TextInput.from_param(self.param.start1, width=70),
                   pn.widgets.TextInput.from_param(self.param.end1, width=70)),
            pn.Row(pn.widgets.Select.from_param(self.param.loc2, width=140),
                   pn.widgets.TextInput.from_param(self.param.start2, width=70),
                   pn.widgets.TextInput.from_param(self.param.end2, width=70)),
            pn.widgets.TextAreaInput.from_param(self.param.note, height=60, width=width),
            pn.Row(self._save, self._delete, self._cancel), self._offer_row,
            width=width + 20, visible=False)

    def _close(self) -> None:
        self.editing = None
        self.refusal = ""

    @param.depends("editing", watch=True)
    def _update_form(self) -> None:
        self._form.visible = self.editing is not None
        self._delete.disabled = self.editing is None or not self._stored(*self.editing)
        self._offer_row.visible = self._duty() is not None

    def _clicked_cell(self, event: Any) -> None:
        label = getattr(event, "column", None)
        row = getattr(event, "row", None)
        if label not in self.labels or row is None or row >= len(self.frame):
            return
        username = str(self.frame.iloc[row][USERNAME])
        if username:
            self.select_cell(username, self.labels[label])

    @param.depends("editing", "refusal", "notice")
    def editor(self) -> pn.viewable.Viewable:
        """The heading of the form: whose cell, and the last outcome or refusal."""
        parts: list[Any] = []
        if self.editing is not None:
            username, day = self.editing
            who = html.escape(self.names.get(username, username))
            kind = "your" if username == self.source.user.username else f"{who}'s"
            parts.append(pn.pane.Markdown(f"### Edit {kind} day\n{day:%A %d %B %Y} "
                                          "(times are local to the person)"))
        elif not self.notice:
            parts.append(pn.pane.Markdown("### Edit\nClick a cell of your own row to change "
                                          "your day" + (" (any row: you are a planner admin)"
                                                        if self.source.admin else "") + "."))
        if self.refusal:
            parts.append(pn.pane.Alert(html.escape(self.refusal), alert_type="danger"))
        if self.notice:
            parts.append(pn.pane.Alert(html.escape(self.notice), alert_type="info"))
        return pn.Column(*parts, width=FORM_WIDTH + 20)

    @param.depends("swaps")
    def swap_panel(self) -> pn.viewable.Viewable:
        """Open swaps: accept or decline those asked of you, approve (admins), withdraw."""
        me = self.source.user.username
        items: list[Any] = [pn.pane.Markdown("### Swaps")]
        if not self.swaps:
            items.append(pn.pane.Markdown("No open swaps. To offer one of your duties, click "
                                          "its cell and pick a colleague."))
        for swap in self.swaps:
            text = html.escape(describe_swap(swap, self.names))
            buttons: list[tuple[str, str]] = []
            if swap.target == me and swap.state == "asked":
                buttons = [("Accept", "accept"), ("Decline", "decline")]
            elif self.source.admin and swap.state == "accepted" and swap.requester != me:
                buttons = [("Approve", "approve"), ("Deny", "deny")]
            elif swap.requester == me:
                buttons = [("Withdraw", "withdraw")]
                text += " (waiting for " + ("approval" if swap.state == "accepted" else
                                            html.escape(self.names.get(swap.target,
                                                                       swap.target))) + ")"
            row: list[Any] = [pn.pane.Markdown(text, width=FORM_WIDTH - 10)]
            for label, decision in buttons:
                button = pn.widgets.Button(label=label, width=80)
                button.on_click(partial(_clicked, partial(self.decide, swap.id, decision)))
                row.append(button)
            items.append(pn.Column(*row))
        return pn.Column(*items, width=FORM_WIDTH + 20)

    @param.depends("answer")
    def where(self) -> pn.viewable.Viewable:
        if not self.answer:
            return pn.pane.Markdown("Type a name in **Where is ...** to see where someone is "
                                    "right now.", sizing_mode="stretch_width")
        return pn.pane.Alert(html.escape(self.answer), alert_type="light",
                             sizing_mode="stretch_width")

    @param.depends("frame")
    def empty_state(self) -> pn.viewable.Viewable:
        people = (self.frame[ROW_KIND] == "person").sum() if len(self.frame) else 0
        if self.settings is None or people:
            return pn.Spacer(height=0)
        return pn.pane.Alert("Nobody matches these filters. Clear the filters, or ask a planner "
                             "admin to load the employee directory.", alert_type="warning")

    def __panel__(self) -> pn.viewable.Viewable:
        main = pn.Column(self._nav, self._filters_row, self.where, self._legend,
                         self.empty_state, self._table, sizing_mode="stretch_width")
        side = pn.Column(self.editor, self._form, self.swap_panel, width=FORM_WIDTH + 30)
        return pn.Row(main, side, sizing_mode="stretch_width")


def _clicked(action: Callable[[], None], _event: Any) -> None:
    action()


def _first_error(exc: Exception) -> str:
    """The service's message (or pydantic's first complaint, naming the field)."""
    if isinstance(exc, pydantic.ValidationError) and exc.errors():
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}"
    return getattr(exc, "message", None) or str(exc)


def build(ctx: Any, user: User) -> PlannerDashboard:
    """Page builder for ``panel serve``: load in a thread, then follow the live feed."""
    dash = PlannerDashboard(source=PlannerSource(ctx.services.planner, user))
    doc = pn.state.curdoc
    assert doc is not None, "build() runs in a served session"

    async def start() -> None:
        data = await asyncio.to_thread(dash.fetch)
        doc.add_next_tick_callback(partial(dash.set_data, *data))
        follow_while_open(dash.follow(await ctx.feed()))

    pn.state.execute(start)
    return dash
