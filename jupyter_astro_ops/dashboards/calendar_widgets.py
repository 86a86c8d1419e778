"""The Calendar Viewer's widgets (built from its Parameters) and its layout.

Kept apart from ``calendar_view`` (state and rules of the form) because it only decides how the
dashboard looks: the navigation bar, the timeline, the reservations table (names, UTC and site
time, no raw flags; an empty view says what to do), and the booking form with its preview.
Every widget is a Material one (``panel_material_ui``) built with ``from_param`` per instance;
the date/time fields take typed ISO 8601 (``widgets.IsoDatetimeInput``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from functools import partial
from typing import Any, Protocol

import panel as pn
import panel_material_ui as pmui

from ..calendar.schemas import ReservationOut
from .calendar_source import form_utc, window_for
from .calendar_text import HIDDEN, TITLES, Names, conflict_list, selected_ids, selected_summary
from .text import WRAP, escape_md, span
from .widgets import IsoDatetimeInput, TableOrEmpty, alert, empty_state


class BookingState(Protocol):
    """What the widgets need of the Calendar Viewer (``calendar_view.CalendarDashboard``):
    its Parameters and actions. A protocol, so this module does not import the Viewer."""

    param: Any
    view: str
    day: date | None
    frame: Any
    selected: str | None
    check: str
    check_kind: str
    conflicts: list[ReservationOut]
    notice: str
    notice_kind: str
    names: Names
    reservations: dict[str, ReservationOut]
    timeline: Any

    @property
    def editing(self) -> ReservationOut | None: ...
    @property
    def fits(self) -> bool: ...
    def navigate(self, direction: int) -> None: ...
    def book(self) -> None: ...
    def save(self) -> None: ...
    def delete(self) -> None: ...
    def new_booking(self) -> None: ...

FORM_WIDTH = 330
# each cell of "When" names its zones (UTC, then the site's); wide enough for each title
# beside its sort arrow
WIDTHS = {"site": 125, "times": 195, "kind": 90, "who": 120, "project": 110}
LEGEND = ("Bars are coloured by project; yours have a dark outline, the selected one is "
          "orange. The dashed outline is the slot in the form (green: free, red: something is "
          "in the way); the red line is now. Hover a bar for details, click it to select.")


def window_label(view: str, day: date | None) -> str:
    """``Mon 02 Mar 2026 to Sun 08 Mar 2026 (UTC)``: the window in words."""
    start, end = window_for(view, day or datetime.now(timezone.utc).date())
    last = end - timedelta(days=1)
    text = f"**{start:%a %d %b %Y}**" + ("" if view == "day" else f" to **{last:%a %d %b %Y}**")
    return text + " (UTC)"


def readonly_text(names: Names, res: ReservationOut) -> str:
    """The preview while someone else's reservation is selected."""
    return (f"This is {escape_md(names.who(res))}'s booking: read-only for you. Press "
            "**New booking** to book a slot of your own.")


def empty_text(view: str, day: date | None) -> str:
    return (f"No reservations in this {view} ({window_label(view, day)}). Pick a site and a "
            "time in the form on the right and press **Book**, or move to another "
            f"{view} with ◀ and ▶.")


class CalendarWidgets:
    """Builds the Viewer's widgets from its Parameters and lays them out."""

    def __init__(self, dash: BookingState) -> None:
        self.dash = dash
        p = dash.param
        nav = [pmui.Button(label=label, variant="outlined", width=80)
               for label in ("◀", "Today", "▶")]
        for button, direction in zip(nav, (-1, 0, 1), strict=True):
            button.on_click(partial(_clicked, partial(dash.navigate, direction)))
        self.nav = pmui.Column(
            pmui.Row(*nav, pmui.RadioButtonGroup.from_param(p.view, width=240),
                     pmui.DatePicker.from_param(p.day, width=170)),
            pn.bind(window_label, p.view, p.day), sizing_mode="stretch_width")
        self.table = pn.widgets.Tabulator.from_param(
            p.frame, show_index=False, selectable=1, disabled=True, hidden_columns=HIDDEN,
            titles=TITLES, pagination="local", page_size=12, sizing_mode="stretch_width",
            layout="fit_columns", widths=WIDTHS,
            formatters={c: WRAP for c in ("site", "times", "title", "kind", "who", "project")},
            name="reservations")
        self.table.param.watch(self._on_table_selection, "selection")
        self.empty = empty_state(empty_text(dash.view, dash.day), name="no-reservations")
        self.table_view = TableOrEmpty(self.table, self.empty)
        self.book = pmui.Button(label="Book", color="primary", variant="contained")
        self.save = pmui.Button(label="Save changes", color="success", variant="contained")
        self.delete = pmui.Button(label="Delete", color="error", variant="outlined")
        self.new = pmui.Button(label="New booking", variant="outlined")
        for button, action in ((self.book, dash.book), (self.save, dash.save),
                               (self.delete, dash.delete), (self.new, dash.new_booking)):
            button.on_click(partial(_clicked, action))
        width = FORM_WIDTH - 20
        self.form = pmui.Column(
            pmui.Select.from_param(p.site, width=width),
            IsoDatetimeInput.from_param(p.start, width=width,
                                        placeholder="2026-12-02 02:00 (UTC, or ISO 8601)"),
            IsoDatetimeInput.from_param(p.end, width=width,
                                        placeholder="2026-12-02 05:00 (UTC, or ISO 8601)"),
            pn.bind(self._site_time, p.site, p.start, p.end),
            pmui.RadioButtonGroup.from_param(p.kind, width=width),
            pmui.Select.from_param(p.project, width=width),
            pmui.TextInput.from_param(p.title, width=width),
            pmui.TextAreaInput.from_param(p.note, width=width, rows=2),
            pmui.Row(self.book, self.save), pmui.Row(self.delete, self.new),
            width=FORM_WIDTH)
        self.update_buttons()

    # -- state -> widgets ------------------------------------------------------------------------
    def show_table(self, has_rows: bool) -> None:
        self.empty.object = empty_text(self.dash.view, self.dash.day)
        self.table_view.show(has_rows)

    def update_buttons(self) -> None:
        dash = self.dash
        mine = dash.editing is not None
        self.book.disabled = dash.selected is not None or not dash.fits
        self.save.disabled = not mine or not dash.fits
        self.delete.disabled = not mine

    def _on_table_selection(self, event: Any) -> None:
        rows = event.new or []
        frame = self.dash.frame
        if rows and rows[0] < len(frame):
            self.dash.selected = str(frame.index[rows[0]])

    # -- views -----------------------------------------------------------------------------------
    def _site_time(self, site: str | None, start: datetime | None,
                   end: datetime | None) -> pmui.Typography:
        names = self.dash.names
        begin, finish = form_utc(start), form_utc(end)
        text = ""
        if site and begin is not None and finish is not None and finish > begin:
            tz = names.tz(site)
            local = span(begin, finish, tz) if tz else ""
            text = f"At the site: {local[local.index('(') + 1:-1]}" if tz else ""
        return pmui.Typography(escape_md(text), variant="caption", name="site-time",
                               margin=(0, 10))

    def details(self, *_: Any) -> pn.viewable.Viewable:
        """The preview of the form's slot, the last outcome and the selected reservation."""
        dash = self.dash
        parts: list[Any] = []
        if dash.check:
            parts.append(alert(dash.check + conflict_list(dash.conflicts, dash.names),
                               dash.check_kind, name="preview"))
        if dash.notice:
            parts.append(alert(dash.notice, dash.notice_kind))
        res = dash.reservations.get(dash.selected or "")
        if res is not None:
            editable = dash.editing is not None
            parts += [pmui.Typography(selected_summary(res, dash.names, editable),
                                      variant="body2", name="selected", margin=(5, 10)),
                      pmui.Typography(selected_ids(res), variant="caption", margin=(0, 10))]
        return pmui.Column(*parts, width=FORM_WIDTH)

    def layout(self) -> pn.viewable.Viewable:
        p = self.dash.param
        side = pmui.Column(
            pmui.Typography("Booking", variant="h6", margin=(0, 10)), self.form,
            pn.bind(self.details, p.selected, p.conflicts, p.check, p.check_kind, p.notice,
                    p.notice_kind),
            width=FORM_WIDTH + 10)
        timeline = pn.pane.Bokeh(self.dash.timeline.figure, sizing_mode="stretch_width")
        main = pmui.Column(
            self.nav, timeline,
            pmui.Typography(LEGEND, variant="caption", margin=(0, 10)),
            self.table_view.box, sizing_mode="stretch_width")
        return pmui.Row(main, side, sizing_mode="stretch_width")


def _clicked(action: Callable[[], None], _event: Any) -> None:
    action()
