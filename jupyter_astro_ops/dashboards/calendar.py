"""The Calendar dashboard: a timeline of reservations per site, booking with a conflict preview.

``CalendarSource`` is the blocking data access for one user through ``CalendarService`` (every
rule, owner checks included, stays in the service). ``CalendarDashboard`` is the Viewer: its
state is param Parameters (the window: ``view`` and ``day``; the form: site, start, end, type,
project, title, note; the selected reservation; the conflicts of the form's slot), its widgets
are built from them per instance, and it works the same in a notebook::

    dash = CalendarDashboard(source=CalendarSource(cal, activity, user)); dash.load(); dash

Every change of the form's slot asks ``CalendarService.validate`` so the reservations in the way
show up (on the timeline and in a list) *before* booking, and the Book button stays disabled
while there are any. Under ``panel serve`` ``follow(hub)`` watches ``RESERVATION`` events of the
activity feed and reloads the visible window, so other people's bookings appear live.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from functools import partial
from typing import Any

import pandas as pd
import panel as pn
import param

from ..activity.schemas import EventFilter
from ..activity.service import ActivityService
from ..calendar.schemas import (
    ReservationIn,
    ReservationOut,
    ReservationPatch,
    SiteOut,
    ValidateIn,
    ValidateOut,
)
from ..calendar.service import OBJECT_TYPE, CalendarService
from ..core.errors import Conflict, Forbidden, NotFound, ValidationError
from ..core.identity import User
from ..core.timeutil import utcnow
from .calendar_timeline import Timeline

log = logging.getLogger(__name__)
DOMAIN_ERRORS = (Conflict, Forbidden, NotFound, ValidationError)
COLUMNS = ["site", "start", "end", "title", "type", "who", "project", "note", "editable",
           "start_utc", "end_utc"]
TITLES = {"site": "Site", "start": "Start (UTC)", "end": "End (UTC)", "title": "Title",
          "type": "Type", "who": "Booked by", "project": "Project", "note": "Note",
          "editable": "Yours"}
NO_PROJECT = "(no project)"
FORM_WIDTH = 300
# The feed hides other users' events from non-admins, but reservations are public: the feed is
# only a *signal* to reload the window (read as the session's user), so it is watched with this
# process-internal identity. Nothing read through it is shown.
WATCHER = User("astro-ops:calendar-dashboard", "Calendar dashboard", roles=frozenset({"admin"}))
TIME_FMT = "%Y-%m-%d %H:%M"


def window_for(view: str, day: date) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of the day, the week (Monday first) or the month of ``day``."""
    if view == "day":
        first = day
        last = day + timedelta(days=1)
    elif view == "week":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=7)
    else:
        first = day.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1)
    return (datetime.combine(first, time(), timezone.utc),
            datetime.combine(last, time(), timezone.utc))


def step(view: str, day: date, direction: int) -> date:
    """``day`` moved one view-length forwards (``+1``) or backwards (``-1``)."""
    if view == "day":
        return day + timedelta(days=direction)
    if view == "week":
        return day + timedelta(days=7 * direction)
    month = day.month - 1 + direction
    return date(day.year + month // 12, month % 12 + 1, 1)


def _utc(value: datetime | None) -> datetime | None:
    """Widgets hold naive datetimes; the dashboard means UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


class CalendarSource:
    """Blocking data access for one user; every rule is the service's."""

    def __init__(self, service: CalendarService, activity: ActivityService, user: User) -> None:
        self.service = service
        self.activity = activity
        self.user = user

    def sites(self) -> list[SiteOut]:
        return self.service.list_sites(self.user)

    def projects(self) -> dict[str, int]:
        """``{label: id}`` of the projects the user belongs to (bookable with a project)."""
        mine = [p for p in self.activity.list_projects(self.user)
                if any(m.username == self.user.username for m in p.members)]
        return {f"{p.name} (#{p.id})": p.id for p in mine}

    def window(self, start: datetime, end: datetime) -> list[ReservationOut]:
        return self.service.list_reservations(self.user, None, start, end)

    def validate(self, spec: ValidateIn) -> ValidateOut:
        return self.service.validate(self.user, spec)

    def create(self, spec: ReservationIn) -> ReservationOut:
        return self.service.create(self.user, spec)

    def modify(self, rid: str, patch: ReservationPatch) -> ReservationOut:
        return self.service.modify(self.user, rid, patch)

    def cancel(self, rid: str, version: int) -> ReservationOut:
        return self.service.cancel(self.user, rid, version)

    def may_edit(self, res: ReservationOut) -> bool:
        """Same rule the service enforces: the creator or a calendar admin."""
        return res.creator_id == self.user.username or self.user.has_role(
            self.service.admin_role)


def _served() -> bool:
    doc = pn.state.curdoc
    return bool(doc and doc.session_context)


class CalendarDashboard(pn.viewable.Viewer):
    """Reservations per site over a day, week or month; book, edit and cancel your own."""

    view = param.Selector(default="week", objects=["day", "week", "month"], label="View")
    day = param.CalendarDate(default=None, allow_None=True, label="Go to date")
    frame = param.DataFrame(default=pd.DataFrame(columns=COLUMNS), doc="Visible reservations.")
    selected = param.String(default=None, allow_None=True, doc="Id of the selected reservation.")
    site = param.Selector(default=None, objects=[], allow_None=True, label="Site")
    start = param.Date(default=None, allow_None=True, label="Start (UTC)")
    end = param.Date(default=None, allow_None=True, label="End (UTC)")
    kind = param.Selector(default="realtime", objects=["realtime", "project"], label="Type")
    project = param.Selector(default=NO_PROJECT, objects=[NO_PROJECT], label="Project")
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
        self._stale = False
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
        self.frame = pd.DataFrame([self._row(r) for r in rows], columns=COLUMNS,
                                  index=pd.Index([r.id for r in rows], name="id"))
        self._redraw()

    def _row(self, r: ReservationOut) -> dict[str, Any]:
        names = {pid: label for label, pid in self._projects.items()}
        return {"site": r.site, "start": r.start.strftime(TIME_FMT),
                "end": r.end.strftime(TIME_FMT), "title": r.title, "type": r.type,
                "who": r.creator_name or r.creator_id,
                "project": names.get(r.project_id, "" if r.project_id is None
                                     else f"#{r.project_id}"),
                "note": r.note, "editable": self.source.may_edit(r),
                "start_utc": r.start, "end_utc": r.end}

    def _redraw(self) -> None:
        self.timeline.update(self.frame, [s.code for s in self.sites], self.window,
                             self.selected, utcnow())
        self._show_proposal()

    # -- the form ------------------------------------------------------------------------------------
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
        labels = {pid: label for label, pid in self._projects.items()}
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
        start, end = _utc(self.start), _utc(self.end)
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
            self._set_check(token, answer, "The slot is free.")
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
        self.timeline.propose(self.site, _utc(self.start), _utc(self.end), fits)

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
        patch = ReservationPatch(start=_utc(self.start), end=_utc(self.end), type=self.kind,
                                 title=self.title.strip() or res.title, note=self.note,
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
        """Run blocking ``work`` off the event loop when served; inline in a notebook/test."""
        def fail(exc: Exception) -> None:
            if refused is not None:
                refused(str(exc))
            else:
                self.notice = f"Refused: {exc}"
                if isinstance(exc, Conflict):
                    self.conflicts = list((exc.details or {}).get("conflicts", []))

        if not _served():
            try:
                result = work()
            except DOMAIN_ERRORS as exc:
                fail(exc)
                return
            done(result)
            return

        async def run() -> None:
            try:
                result = await asyncio.to_thread(work)
            except DOMAIN_ERRORS as exc:
                fail(exc)
            else:
                done(result)

        pn.state.execute(run)

    # -- live feed ---------------------------------------------------------------------------------
    async def follow(self, hub: Any) -> None:
        """Reload the window after ``RESERVATION`` changes, until cancelled.

        A burst of events (an import, several bookings) costs one reload, not one each.
        """
        doc = pn.state.curdoc if _served() else None
        subscription = hub.subscribe(WATCHER, EventFilter(object_type=[OBJECT_TYPE]))
        reloading: asyncio.Future[None] | None = None
        try:
            async for _ev in subscription:
                self._stale = True
                if reloading is None or reloading.done():
                    reloading = asyncio.ensure_future(self._reload_live(doc))
        finally:
            subscription.close()
            if reloading is not None:
                reloading.cancel()

    async def _reload_live(self, doc: Any) -> None:
        while self._stale:
            self._stale = False
            try:
                rows = await asyncio.to_thread(self.source.window, *self.window)
            except Exception:  # keep following; the next event retries
                log.exception("calendar dashboard: reloading the window failed")
                continue
            if doc is not None:
                doc.add_next_tick_callback(partial(self._live, rows))
            else:
                self._live(rows)

    def _live(self, rows: list[ReservationOut]) -> None:
        self.set_reservations(rows)
        self._check_conflicts()

    # -- views ---------------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        nav = [pn.widgets.Button(name=label, width=70) for label in ("◀", "Today", "▶")]
        for button, direction in zip(nav, (-1, 0, 1), strict=True):
            button.on_click(lambda _e, d=direction: self.navigate(d))
        self._nav = pn.Row(
            *nav, pn.widgets.RadioButtonGroup.from_param(self.param.view, width=200),
            pn.widgets.DatePicker.from_param(self.param.day, width=150),
            pn.bind(self._window_label, self.param.view, self.param.day))
        self._table = pn.widgets.Tabulator.from_param(
            self.param.frame, show_index=False, selectable=1, disabled=True,
            hidden_columns=["start_utc", "end_utc"], titles=TITLES, pagination="local",
            page_size=15, sizing_mode="stretch_width", layout="fit_data_stretch",
            name="reservations")
        self._table.param.watch(self._on_table_selection, "selection")
        self._book = pn.widgets.Button(name="Book", button_type="primary")
        self._save = pn.widgets.Button(name="Save changes", button_type="success")
        self._delete = pn.widgets.Button(name="Delete", button_type="danger")
        self._new = pn.widgets.Button(name="New booking")
        for button, action in ((self._book, self.book), (self._save, self.save),
                               (self._delete, self.delete), (self._new, self.new_booking)):
            button.on_click(lambda _e, a=action: a())
        width = {"width": FORM_WIDTH}
        self._form = pn.Column(
            pn.widgets.Select.from_param(self.param.site, **width),
            pn.widgets.DatetimePicker.from_param(self.param.start, **width),
            pn.widgets.DatetimePicker.from_param(self.param.end, **width),
            pn.widgets.RadioButtonGroup.from_param(self.param.kind, **width),
            pn.widgets.Select.from_param(self.param.project, **width),
            pn.widgets.TextInput.from_param(self.param.title, **width),
            pn.widgets.TextAreaInput.from_param(self.param.note, height=70, **width),
            pn.Row(self._book, self._save), pn.Row(self._delete, self._new),
            width=FORM_WIDTH + 20)
        self._update_buttons()

    def _window_label(self, view: str, day: date | None) -> pn.pane.Markdown:
        start, end = window_for(view, day or utcnow().date())
        last = end - timedelta(days=1)
        text = f"**{start:%a %d %b %Y}**" + ("" if view == "day" else f" – **{last:%a %d %b %Y}**")
        return pn.pane.Markdown(text + " (UTC)", margin=(12, 10))

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
            kind = "success" if self.check == "The slot is free." else "warning"
            parts.append(pn.pane.Alert(self.check + "".join(
                f"\n- {c.site} {c.start:%Y-%m-%d %H:%M}..{c.end:%Y-%m-%d %H:%M} "
                f"**{c.title}** ({c.creator_id})" for c in self.conflicts),
                alert_type=kind))
        res = self.reservations.get(self.selected or "")
        if res is not None:
            owner = "yours" if res.creator_id == self.source.user.username else res.creator_id
            rights = "you may edit it" if self.editing else "read-only"
            parts.append(pn.pane.Markdown(
                f"**Selected:** {res.title} at {res.site} ({owner}, {rights})  \n"
                f"{res.start:%Y-%m-%d %H:%M} .. {res.end:%Y-%m-%d %H:%M} UTC · {res.type} · "
                f"version {res.version}"))
        return pn.Column(*parts, width=FORM_WIDTH + 20)

    def __panel__(self) -> pn.viewable.Viewable:
        main = pn.Column(self._nav, pn.pane.Bokeh(self.timeline.figure,
                                                  sizing_mode="stretch_width"),
                         self._table, sizing_mode="stretch_width")
        return pn.Row(main, pn.Column("### Book", self._form, self.details),
                      sizing_mode="stretch_width")


def build(ctx: Any, user: User) -> CalendarDashboard:
    """Page builder for ``panel serve``: load in a thread, then follow the live feed."""
    service = ctx.cached("calendar", calendar_service)
    dash = CalendarDashboard(source=CalendarSource(service, ctx.activity, user))

    async def start() -> None:
        dash.set_data(*await asyncio.to_thread(dash.fetch))
        dash._check_conflicts()
        task = asyncio.ensure_future(dash.follow(await ctx.feed()))
        pn.state.on_session_destroyed(lambda _session: task.cancel())

    pn.state.execute(start)
    return dash


def calendar_service(ctx: Any) -> CalendarService:
    """The process's ``CalendarService``, configured like the Jupyter server's."""
    return CalendarService(config=ctx.config, db=ctx.db, activity=ctx.activity)
