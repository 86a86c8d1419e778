"""The Calendar dashboard: a timeline of reservations per site, booking with a conflict preview.

``CalendarDashboard`` is the Viewer: its state is param Parameters (the window: ``view`` and
``day``; the form: site, start, end, type, project, title, note; the selected reservation; the
conflicts of the form's slot), its widgets are built from them per instance, and it works the
same in a notebook::

    dash = CalendarDashboard(source=CalendarSource(cal, activity, user)); dash.load(); dash

Every change of the form's slot asks ``CalendarService.validate``, so the reservations in the
way show up (on the timeline and in a list) *before* booking, and Book stays disabled while
there are any. Others' reservations are read-only (Save and Delete disabled; the service refuses
anyway). Under ``panel serve`` ``follow(hub)`` watches ``RESERVATION`` events of the activity
feed and reloads the visible window, so other people's bookings appear live.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pandas as pd
import panel as pn
import param

from ..calendar.schemas import (
    ReservationIn,
    ReservationOut,
    ReservationPatch,
    SiteOut,
    ValidateIn,
    ValidateOut,
)
from ..core.errors import Conflict
from ..core.identity import User
from ..core.timeutil import utcnow
from .calendar_source import (
    COLUMNS,
    FREE,
    TIME_FMT,
    CalendarSource,
    conflict_list,
    follow_reservations,
    form_utc,
    reservation_row,
    selected_summary,
    step,
    window_for,
    window_label,
)
from .calendar_timeline import Timeline
from .tasks import follow_while_open, run_blocking, served

log = logging.getLogger(__name__)
TITLES = {"site": "Site", "start": "Start (UTC)", "end": "End (UTC)", "title": "Title",
          "type": "Type", "who": "Booked by", "project": "Project", "note": "Note",
          "editable": "Yours"}
NO_PROJECT = "(no project)"
FORM_WIDTH = 300


class CalendarDashboard(pn.viewable.Viewer):
    """Reservations per site over a day, week or month; book, edit and cancel your own."""

    view: param.Selector = param.Selector(default="week", objects=["day", "week", "month"],
                                          label="View")
    day = param.CalendarDate(default=None, allow_None=True, label="Go to date")
    frame = param.DataFrame(default=pd.DataFrame(columns=COLUMNS), doc="Visible reservations.")
    selected = param.String(default=None, allow_None=True, doc="Id of the selected reservation.")
    site: param.Selector = param.Selector(default=None, objects=[], allow_None=True, label="Site")
    start = param.Date(default=None, allow_None=True, label="Start (UTC)")
    end = param.Date(default=None, allow_None=True, label="End (UTC)")
    kind: param.Selector = param.Selector(default="realtime", objects=["realtime", "project"],
                                          label="Type")
    project: param.Selector = param.Selector(default=NO_PROJECT, objects=[NO_PROJECT],
                                             label="Project")
    title = param.String(default="", label="Title (default: your name)")
    note = param.String(default="", label="Note")
    conflicts = param.List(default=[], doc="Reservations in the way of the form's slot.")
    check = param.String(default="", doc="Outcome of the last conflict check.")
    notice = param.String(default="", doc="Outcome of the last action.")

    def __init__(self, source: CalendarSource, **params: Any) -> None:
        params.setdefault("day", utcnow().date())
        super().__init__(**params)
        self.source = source
        self.reservations: dict[str, ReservationOut] = {}
        self.sites: list[SiteOut] = []
        self._projects: dict[str, int] = {}
        self._checks = 0
        self.timeline = Timeline(self._select)
        self._build_widgets()
        self._reset_form()

    # -- window and data ---------------------------------------------------------------------------
    @property
    def window(self) -> tuple[datetime, datetime]:
        return window_for(self.view, self.day or utcnow().date())

    def fetch(self) -> tuple[list[SiteOut], dict[str, int], list[ReservationOut]]:
        """Sites, the user's projects and the window's reservations (blocking, no state)."""
        return self.source.sites(), self.source.projects(), self.source.window(*self.window)

    def set_data(self, sites: list[SiteOut], projects: dict[str, int],
                 reservations: list[ReservationOut]) -> None:
        """Replace the state with freshly fetched data."""
        self.sites = sites
        codes = [s.code for s in sites]
        self.param.site.objects = codes
        if self.site not in codes:
            self.site = codes[0] if codes else None
        self._projects = projects
        self.param.project.objects = [NO_PROJECT, *projects]
        self.set_reservations(reservations)

    def set_reservations(self, reservations: list[ReservationOut]) -> None:
        self.reservations = {r.id: r for r in reservations if r.status == "active"}
        if self.selected not in self.reservations:
            self.selected = None
        self._reframe()

    def load(self) -> None:
        """Fetch and show (blocking; for notebooks and tests)."""
        self.set_data(*self.fetch())
        self._check_conflicts()

    def reload_window(self) -> None:
        """Re-read the visible window (after a navigation, an action or a feed event)."""
        self._background(partial(self.source.window, *self.window), self.set_reservations)

    @param.depends("view", "day", watch=True)
    def _navigated(self) -> None:
        self.reload_window()

    def navigate(self, direction: int) -> None:
        """Previous (``-1``), today (``0``) or next (``+1``) day / week / month."""
        today = utcnow().date()
        self.day = today if direction == 0 else step(self.view, self.day or today, direction)

    def _reframe(self) -> None:
        rows = sorted(self.reservations.values(), key=lambda r: (r.start, r.site))
        labels = {pid: label for label, pid in self._projects.items()}
        self.frame = pd.DataFrame([reservation_row(r, labels, self.source.may_edit(r))
                                   for r in rows], columns=COLUMNS,
                                  index=pd.Index([r.id for r in rows], name="id"))
        self._redraw()

    def _redraw(self) -> None:
        self.timeline.update(self.frame, [s.code for s in self.sites], self.window,
                             self.selected, utcnow())
        self._show_proposal()

    # -- the form --------------------------------------------------------------------------------
    def _reset_form(self) -> None:
        start = (utcnow() + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        self.param.update(start=start.replace(tzinfo=None),
                          end=(start + timedelta(hours=1)).replace(tzinfo=None),
                          kind="realtime", project=NO_PROJECT, title="", note="")

    def _select(self, rid: str | None) -> None:
        self.selected = rid

    @param.depends("selected", watch=True)
    def _selection_changed(self) -> None:
        """Load the selected reservation into the form (read-only unless it is yours)."""
        res = self.reservations.get(self.selected or "")
        if res is None:
            self._update_buttons()
            return
        labels: dict[int | None, str] = {pid: label for label, pid in self._projects.items()}
        self.param.update(site=res.site, start=res.start.replace(tzinfo=None),
                          end=res.end.replace(tzinfo=None), kind=res.type,
                          project=labels.get(res.project_id, NO_PROJECT),
                          title=res.title, note=res.note)
        self._redraw()

    def new_booking(self) -> None:
        """Leave the selected reservation: the form books a new slot again."""
        self.selected = None
        self._reset_form()
        self._redraw()

    @property
    def editing(self) -> ReservationOut | None:
        """The selected reservation if the user may change it."""
        res = self.reservations.get(self.selected or "")
        return res if res is not None and self.source.may_edit(res) else None

    def _spec(self) -> ValidateIn | None:
        start, end = form_utc(self.start), form_utc(self.end)
        if not self.site or start is None or end is None:
            return None
        selected = self.reservations.get(self.selected or "")
        return ValidateIn(site=self.site, start=start, end=end, type=self.kind,
                          title=self.title.strip() or None, note=self.note,
                          project_id=self._projects.get(self.project),
                          ignore_id=selected.id if selected else None)

    @param.depends("site", "start", "end", watch=True)
    def _check_conflicts(self) -> None:
        """Ask the service whether the form's slot fits (before anything is booked)."""
        self._checks += 1
        token = self._checks
        try:
            spec = self._spec()
        except Exception as exc:  # pydantic: incomplete or malformed form
            self._set_check(token, None, str(exc))
            return
        if spec is None:
            self._set_check(token, None, "Pick a site, a start and an end.")
            return
        self._background(partial(self.source.validate, spec),
                         partial(self._checked, token),
                         refused=partial(self._set_check, token, None))

    def _checked(self, token: int, answer: ValidateOut) -> None:
        if answer.ok:
            self._set_check(token, answer, FREE)
        else:
            self._set_check(token, answer, f"In the way: {len(answer.conflicts)} reservation(s).")

    def _set_check(self, token: int, answer: ValidateOut | None, text: str) -> None:
        if token != self._checks:  # an older check finished after a newer one
            return
        self.conflicts = list(answer.conflicts) if answer else []
        self.check = text if answer else f"Cannot book: {text}"
        self._show_proposal(answer.ok if answer else None)
        self._update_buttons()

    def _show_proposal(self, fits: bool | None = None) -> None:
        if fits is None:
            fits = None if self.check.startswith("Cannot") else not self.conflicts
        self.timeline.propose(self.site, form_utc(self.start), form_utc(self.end), fits)

    # -- actions -----------------------------------------------------------------------------------
    def book(self) -> None:
        """Book the form's slot as a new reservation."""
        spec = self._spec()
        if spec is None:
            self.notice = "Pick a site, a start and an end."
            return
        data = spec.model_dump(exclude={"ignore_id"})
        self._background(partial(self.source.create, ReservationIn(**data)),
                         partial(self._done, "Booked"))

    def save(self) -> None:
        """Apply the form to the selected reservation (only yours; the service checks)."""
        res = self.reservations.get(self.selected or "")
        if res is None:
            self.notice = "Select one of your reservations first."
            return
        patch = ReservationPatch(start=form_utc(self.start), end=form_utc(self.end),
                                 type=self.kind, title=self.title.strip() or res.title,
                                 note=self.note,
                                 project_id=self._projects.get(self.project),
                                 version=res.version)
        self._background(partial(self.source.modify, res.id, patch),
                         partial(self._done, "Saved"))

    def delete(self) -> None:
        """Cancel the selected reservation (only yours; the service checks)."""
        res = self.reservations.get(self.selected or "")
        if res is None:
            self.notice = "Select one of your reservations first."
            return
        self._background(partial(self.source.cancel, res.id, res.version),
                         partial(self._done, "Cancelled"))

    def _done(self, verb: str, res: ReservationOut) -> None:
        self.notice = (f"{verb} {res.site} {res.start.strftime(TIME_FMT)}.."
                       f"{res.end.strftime(TIME_FMT)}.")
        self.reservations[res.id] = res
        self.set_reservations(list(self.reservations.values()))
        if verb == "Booked":
            self.selected = res.id
        elif verb == "Cancelled":
            self.new_booking()
        self.reload_window()
        self._check_conflicts()

    def _background(self, work: Callable[[], Any], done: Callable[[Any], None],
                    refused: Callable[[str], None] | None = None) -> None:
        """``run_blocking`` with the refusal shown in ``notice`` (or handed to ``refused``)."""
        def fail(exc: Exception) -> None:
            if refused is not None:
                refused(str(exc))
                return
            self.notice = f"Refused: {exc}"
            if isinstance(exc, Conflict):
                self.conflicts = list((exc.details or {}).get("conflicts", []))

        run_blocking(work, done, fail)

    # -- live feed ---------------------------------------------------------------------------------
    async def follow(self, hub: Any) -> None:
        """Reload the window after ``RESERVATION`` changes (one reload per burst)."""
        doc = pn.state.curdoc if served() else None

        async def reload() -> None:
            rows = await asyncio.to_thread(self.source.window, *self.window)
            if doc is not None:
                doc.add_next_tick_callback(partial(self._live, rows))
            else:
                self._live(rows)

        await follow_reservations(hub, reload)

    def _live(self, rows: list[ReservationOut]) -> None:
        self.set_reservations(rows)
        self._check_conflicts()

    # -- views -----------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        nav = [pn.widgets.Button(label=label, width=70) for label in ("◀", "Today", "▶")]
        for button, direction in zip(nav, (-1, 0, 1), strict=True):
            button.on_click(partial(self._clicked, partial(self.navigate, direction)))
        self._nav = pn.Row(
            *nav, pn.widgets.RadioButtonGroup.from_param(self.param.view, width=200),
            pn.widgets.DatePicker.from_param(self.param.day, width=150),
            pn.bind(window_label, self.param.view, self.param.day))
        self._table = pn.widgets.Tabulator.from_param(
            self.param.frame, show_index=False, selectable=1, disabled=True,
            hidden_columns=["start_utc", "end_utc"], titles=TITLES, pagination="local",
            page_size=15, sizing_mode="stretch_width", layout="fit_data_stretch",
            name="reservations")
        self._table.param.watch(self._on_table_selection, "selection")
        self._book = pn.widgets.Button(label="Book", color="primary")
        self._save = pn.widgets.Button(label="Save changes", color="success")
        self._delete = pn.widgets.Button(label="Delete", color="danger")
        self._new = pn.widgets.Button(label="New booking")
        for button, action in ((self._book, self.book), (self._save, self.save),
                               (self._delete, self.delete), (self._new, self.new_booking)):
            button.on_click(partial(self._clicked, action))
        width = FORM_WIDTH
        self._form = pn.Column(
            pn.widgets.Select.from_param(self.param.site, width=width),
            pn.widgets.DatetimePicker.from_param(self.param.start, width=width),
            pn.widgets.DatetimePicker.from_param(self.param.end, width=width),
            pn.widgets.RadioButtonGroup.from_param(self.param.kind, width=width),
            pn.widgets.Select.from_param(self.param.project, width=width),
            pn.widgets.TextInput.from_param(self.param.title, width=width),
            pn.widgets.TextAreaInput.from_param(self.param.note, height=70, width=width),
            pn.Row(self._book, self._save), pn.Row(self._delete, self._new),
            width=FORM_WIDTH + 20)
        self._update_buttons()

    @staticmethod
    def _clicked(action: Callable[[], None], _event: Any) -> None:
        action()

    def _on_table_selection(self, event: param.parameterized.Event) -> None:
        rows = event.new or []
        if rows and rows[0] < len(self.frame):
            self.selected = str(self.frame.index[rows[0]])

    def _update_buttons(self) -> None:
        selected = self.reservations.get(self.selected or "")
        mine = self.editing is not None
        fits = not self.conflicts and not self.check.startswith("Cannot")
        self._book.disabled = selected is not None or not fits
        self._save.disabled = not mine or not fits
        self._delete.disabled = not mine

    @param.depends("selected", "conflicts", "check", "notice")
    def details(self) -> pn.viewable.Viewable:
        """The conflict check, the last outcome and the selected reservation."""
        parts: list[Any] = []
        if self.notice:
            parts.append(pn.pane.Alert(self.notice, alert_type="info"))
        if self.check:
            kind = "success" if self.check == FREE else "warning"
            parts.append(pn.pane.Alert(self.check + conflict_list(self.conflicts),
                                       alert_type=kind))
        res = self.reservations.get(self.selected or "")
        if res is not None:
            parts.append(pn.pane.Markdown(selected_summary(res, self.source.user.username,
                                                           self.editing is not None)))
        return pn.Column(*parts, width=FORM_WIDTH + 20)

    def __panel__(self) -> pn.viewable.Viewable:
        main = pn.Column(self._nav, pn.pane.Bokeh(self.timeline.figure,
                                                  sizing_mode="stretch_width"),
                         self._table, sizing_mode="stretch_width")
        return pn.Row(main, pn.Column("### Book", self._form, self.details),
                      sizing_mode="stretch_width")


def build(ctx: Any, user: User) -> CalendarDashboard:
    """Page builder for ``panel serve``: load in a thread, then follow the live feed."""
    services = ctx.services
    dash = CalendarDashboard(source=CalendarSource(services.calendar.service,
                                                   services.activity.projects, user))

    doc = pn.state.curdoc
    assert doc is not None, "build() runs in a served session"

    def show(data: tuple[list[SiteOut], dict[str, int], list[ReservationOut]]) -> None:
        dash.set_data(*data)  # with the document lock: the timeline's models change
        dash._check_conflicts()

    async def start() -> None:
        doc.add_next_tick_callback(partial(show, await asyncio.to_thread(dash.fetch)))
        follow_while_open(dash.follow(await ctx.feed()))

    pn.state.execute(start)
    return dash
