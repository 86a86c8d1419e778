"""The People Planner dashboard: employees x days, coverage, "where is", editing your cells.

``PlannerDashboard`` is the Viewer: its state is param Parameters (the window: ``view`` and
``day``; the filters; the "where is" query; the cell being edited and its form), its widgets
are built from them per instance, and it works the same in a notebook::

    dash = PlannerDashboard(source=PlannerSource(services.planner, user)); dash.load(); dash

The grid is a Tabulator of HTML cells coloured by location type (``planner_source``): solid
chips are stored by hand, dotted ones with an arrow imported, pale dashed italic ones the
generated defaults, hatched ones holidays; coverage rows on top mark gaps in red. Clicking a
cell of your own row (any row for a planner admin) opens it in the form (``planner_form``);
Save and Delete go through the planner service, so the refusals are the API's own messages.
Pending swaps can be accepted, declined, approved or withdrawn. Under ``panel serve``
``follow(hub)`` watches the planner's activity events and reloads, so other people's changes
appear live.
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
import panel_material_ui as pmui
import param

from ..core.identity import User
from ..core.timeutil import utcnow
from ..planner.schemas import (
    CoverageOut,
    GridCell,
    GridOut,
    LocationTypeOut,
    PlannerSettings,
    SwapOut,
)
from .planner_form import FORM_WIDTH, CellForm, clicked, first_error
from .planner_source import (
    OBJECT_TYPES,
    ROW_KIND,
    USERNAME,
    WATCHER,
    WHO,
    PlannerSource,
    describe_swap,
    grid_frame,
    legend_html,
    window_label,
)
from .tasks import first_load, follow_objects, follow_while_open, run_blocking, served
from .text import WRAP
from .widgets import alert, empty_state
from .windows import days_of, step

log = logging.getLogger(__name__)
ALL = "(all)"
DECIDED = {"accept": "Accepted", "decline": "Declined", "approve": "Approved", "deny": "Denied",
           "withdraw": "Withdrawn"}
# at 1400 px the page (sidebar included) leaves ~1130 px: a day or a week fills it, with room
# for a week's "HQ 08:00-17:00" chips; a month scrolls sideways beside the frozen "Who" column
# (squeezed to fit, its "0/1" badges and "M07" headers were cut to "0/" and "M")
WIDTHS = {"day": 820, "week": 134, "month": 56}
WHO_WIDTHS = {"day": 300, "week": 190, "month": 240}
DAY_MIN_WIDTH = 56  # fit_columns shrinks no column below its minimum: the table scrolls
# a day's chips get the cell's width: the theme's side padding of each cell left a default
# "Kona" chip of the month, and "Kona 08:00-17:00" of the week, a few pixels short
GRID_CSS = (".tabulator-row .tabulator-cell { padding-left: 3px !important; "
            "padding-right: 3px !important; }")

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
    # None: Material's autocomplete sends None when cleared
    search = param.String(default="", allow_None=True, label="Where is ...")
    answer = param.String(default="", doc="The answer to the last 'where is' question.")
    frame = param.DataFrame(default=pd.DataFrame(columns=[WHO, USERNAME, ROW_KIND]),
                            doc="The visible grid.")
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
        self._asked_for = 0  # the newest window read started; older answers are dropped
        self._build_widgets()

    # -- data ------------------------------------------------------------------------------
    @property
    def window(self) -> tuple[date, date]:
        return days_of(self.view, self.day or utcnow().date())

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
        self.form.configure(settings, names)
        self._search.options = sorted(f"{v} ({k})" for k, v in names.items())
        self._legend.object = legend_html(settings.locations)
        self.set_window(grid, coverage, swaps)

    def set_window(self, grid: GridOut, coverage: CoverageOut, swaps: list[SwapOut]) -> None:
        self.grid, self.coverage_data, self.swaps = grid, coverage, swaps
        frame, self.labels = grid_frame(grid, coverage, self.types, self.view)
        width = WIDTHS[self.view]
        with pn.io.hold():  # columns, widths and rows reach the browser as one change
            self._table.param.update(
                # a long name wraps in its cell (the row grows) rather than being cut
                formatters={WHO: WRAP, **{label: "html" for label in self.labels}},
                widths={WHO: WHO_WIDTHS[self.view], **{label: width for label in self.labels}})
            self.frame = frame
            self.form.refill()

    def reload(self) -> None:
        """Re-read the window (after a navigation, a filter, an action or a feed event)."""
        self._background(self.fetch_window, partial(self._answered, self._ask()),
                         self._refused)

    def _ask(self) -> int:
        self._asked_for += 1
        return self._asked_for

    def _answered(self, asked: int, data: tuple[GridOut, CoverageOut, list[SwapOut]]) -> None:
        """Show a window read, unless a newer read was started meanwhile (a feed reload that
        began before a switch to the month view must not put the week back)."""
        if asked == self._asked_for:
            self.set_window(*data)

    def _refused(self, text: str) -> None:
        self.form.refusal = text

    @param.depends("view", "day", "department", "location", "role", "only_me", watch=True)
    def _changed(self) -> None:
        self.form.clear()  # the outcome of the last action is stale now
        if self.settings is not None:
            self.reload()

    def navigate(self, direction: int) -> None:
        """Previous (``-1``), today (``0``) or next (``+1``) day / week / month."""
        today = utcnow().date()
        self.day = today if direction == 0 else step(self.view, self.day or today, direction)

    # -- where is --------------------------------------------------------------------------
    @param.depends("search", watch=True)
    def _asked(self) -> None:
        username = self._username_of(self.search or "")
        if not username:
            self.answer = "" if not self.search else f"Nobody called {self.search!r}."
            return
        self._background(partial(self.source.whereis, username),
                         lambda where: setattr(self, "answer", where.summary),
                         lambda text: setattr(self, "answer", text))

    def _username_of(self, text: str) -> str | None:
        text = text.strip()
        if text.endswith(")") and "(" in text:
            text = text.rsplit("(", 1)[1][:-1]
        if text in self.names:
            return text
        lowered = {v.lower(): k for k, v in self.names.items()}
        return lowered.get(text.lower())

    # -- cells and swaps ------------------------------------------------------------------
    def _cell(self, username: str, day: date) -> GridCell | None:
        for row in self.grid.rows if self.grid else []:
            if row.username == username:
                return next((c for c in row.cells if c.day == day), None)
        return None

    def select_cell(self, username: str, day: date) -> None:
        """Open ``username``'s cell of ``day`` in the form (if the user may edit it)."""
        self.form.select_cell(username, day)

    def decide(self, swap_id: str, decision: str) -> None:
        """Accept, decline, approve, deny or withdraw a swap (the outcome shows in the form)."""
        self.form.run(partial(self.source.decide, swap_id, decision), DECIDED[decision])

    def _background(self, work: Callable[[], Any], done: Callable[[Any], None],
                    refused: Callable[[str], None]) -> None:
        run_blocking(work, done, lambda exc: refused(first_error(exc)))

    # -- live feed -------------------------------------------------------------------------
    async def follow(self, hub: Any, since: int | None = None) -> None:
        """Reload after planner changes by anyone (one reload per burst)."""
        doc = pn.state.curdoc if served() else None

        async def reload() -> None:
            asked = self._ask()
            data = await asyncio.to_thread(self.fetch_window)
            if doc is not None:
                doc.add_next_tick_callback(partial(self._answered, asked, data))
            else:
                self._answered(asked, data)

        await follow_objects(hub, WATCHER, OBJECT_TYPES, reload, since)

    # -- views -----------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        nav = [pmui.Button(label=label, variant="outlined", width=80)
               for label in ("◀", "Today", "▶")]
        for button, direction in zip(nav, (-1, 0, 1), strict=True):
            button.on_click(partial(clicked, partial(self.navigate, direction)))
        self._search = pmui.AutocompleteInput.from_param(
            self.param.search, options=[], case_sensitive=False, search_strategy="includes",
            placeholder="a name, e.g. Observer One", width=240, restrict=False)
        self._nav = pmui.Column(
            pmui.Row(*nav, pmui.RadioButtonGroup.from_param(self.param.view, width=240),
                     pmui.DatePicker.from_param(self.param.day, width=170)),
            pn.bind(window_label, self.param.view, self.param.day))
        self._filters_row = pmui.Row(
            pmui.Select.from_param(self.param.department, width=170),
            pmui.Select.from_param(self.param.location, width=140),
            pmui.Select.from_param(self.param.role, width=170),
            pmui.Checkbox.from_param(self.param.only_me, width=110),
            self._search)
        self._table = pn.widgets.Tabulator.from_param(
            self.param.frame, show_index=False, disabled=True, selectable=False,
            sortable=False, hidden_columns=[USERNAME, ROW_KIND], frozen_columns=[WHO],
            titles={WHO: "Who"}, layout="fit_columns", pagination=None,
            sizing_mode="stretch_width", name="planner-grid",
            configuration={"columnDefaults": {"headerSort": False, "minWidth": DAY_MIN_WIDTH}},
            stylesheets=[GRID_CSS])
        self._table.on_click(self._clicked_cell)
        self._legend = pn.pane.HTML("", sizing_mode="stretch_width")
        self.form = CellForm(self.source, self._cell, self.reload)

    def _clicked_cell(self, event: Any) -> None:
        label = getattr(event, "column", None)
        row = getattr(event, "row", None)
        if label not in self.labels or row is None or row >= len(self.frame):
            return
        username = str(self.frame.iloc[row][USERNAME])
        if username:
            self.select_cell(username, self.labels[label])

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
                button = pmui.Button(label=label, width=80)
                button.on_click(partial(clicked, partial(self.decide, swap.id, decision)))
                row.append(button)
            items.append(pn.Column(*row))
        return pn.Column(*items, width=FORM_WIDTH + 20)

    @param.depends("answer")
    def where(self) -> pn.viewable.Viewable:
        if not self.answer:
            return pn.pane.Markdown("Type a name in **Where is ...** to see where someone is "
                                    "right now; click a cell of your own row to change your "
                                    "day.", sizing_mode="stretch_width")
        return alert(html.escape(self.answer), "info", name="where")

    @param.depends("frame")
    def empty_state(self) -> pn.viewable.Viewable:
        people = (self.frame[ROW_KIND] == "person").sum() if len(self.frame) else 0
        if self.settings is None or people:
            return pn.Spacer(height=0)
        return empty_state("Nobody matches these filters. Clear the filters, or ask a planner "
                           "admin to load the employee directory.")

    def __panel__(self) -> pn.viewable.Viewable:
        main = pn.Column(self._nav, self._filters_row, self.where, self._legend,
                         self.empty_state, self._table, sizing_mode="stretch_width")
        side = pn.Column(self.form, self.swap_panel, width=FORM_WIDTH + 30)

        def show_side(*_events: Any) -> None:
            # a week of 7 or a month of 31 columns needs the width at 1400 px (the page has a
            # sidebar too): the side column shows when it has something to say (a cell being
            # edited, an outcome, open swaps)
            side.visible = (self.form.editing is not None
                            or bool(self.form.notice or self.form.refusal or self.swaps))

        self.param.watch(show_side, ["view", "swaps"])
        self.form.param.watch(show_side, ["editing", "notice", "refusal"])
        show_side()
        return pn.Row(main, side, sizing_mode="stretch_width")


async def build(ctx: Any, user: User) -> PlannerDashboard:
    """Page builder for ``panel serve``: load in a thread before showing, then follow the feed."""
    dash = PlannerDashboard(source=PlannerSource(ctx.services.planner, user))
    feed, since = await ctx.feed_from_now()
    if await first_load(dash.fetch, lambda data: dash.set_data(*data), dash.form.refuse,
                        "the planner"):
        follow_while_open(dash.follow(feed, since))
    return dash
