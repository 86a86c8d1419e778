"""The Calendar dashboard: a timeline of reservations per site, booking with a conflict preview.

``CalendarDashboard`` is the Viewer: its state is param Parameters (the window: ``view`` and
``day``; the form: site, start, end, type, project, title, note; the selected reservation; the
preview of the form's slot), its widgets are built from them per instance
(``calendar_widgets``), and it works the same in a notebook::

    dash = CalendarDashboard(source=CalendarSource(cal, activity.projects, user)); dash.load()

The preview always reflects the form as it is: it is re-checked when the slot, the selection
or the visible window changes. A slot is only ever "free" after ``CalendarService.validate``
said so for exactly that slot; the reservations in the way show up on the timeline and in a
list before booking, and Book stays disabled while there are any. Someone else's reservation
is read-only (its slot is never "free" to you; Save and Delete stay disabled; the service
refuses anyway), and a refusal by the service reads as an error. Under ``panel serve``
``follow(hub)`` watches ``RESERVATION`` events of the activity feed and reloads the window,
so other people's bookings appear live.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from functools import partial
from typing import Any

import pandas as pd
import panel as pn
import param

from ..calendar.schemas import (
    ReservationIn,
    ReservationOut,
    ReservationPatch,
    ValidateIn,
    ValidateOut,
)
from ..calendar.service import OBJECT_TYPE
from ..core.errors import Conflict
from ..core.identity import User
from ..core.timeutil import utcnow
from .calendar_source import (
    WATCHER,
    CalendarSource,
    Catalog,
    form_utc,
    window_for,
)
from .calendar_text import COLUMNS, TYPE_LABELS, Names, reservation_row
from .calendar_timeline import Timeline
from .calendar_widgets import CalendarWidgets, readonly_text
from .tasks import (
    first_load,
    follow_objects,
    follow_while_open,
    run_blocking,
    served,
    session_document,
    with_document,
)
from .text import escape_md, short_span
from .widgets import KINDS, Notice
from .windows import step

log = logging.getLogger(__name__)
NO_PROJECT = "(no project)"
FREE = "The slot is free."
FITS_AS_EDITED = "Your booking fits: nothing else is in the way."


class CalendarDashboard(Notice, pn.viewable.Viewer):
    """Reservations per site over a day, week or month; book, edit and cancel your own."""

    view: param.Selector = param.Selector(default="week", objects=["day", "week", "month"],
                                          label="View")
    day = param.CalendarDate(default=None, allow_None=True, label="Go to date")
    frame = param.DataFrame(default=pd.DataFrame(columns=COLUMNS), doc="Visible reservations.")
    selected = param.String(default=None, allow_None=True, doc="Id of the selected reservation.")
    site: param.Selector = param.Selector(default=None, objects=[], allow_None=True, label="Site")
    start = param.Date(default=None, allow_None=True, label="Start (UTC)")
    end = param.Date(default=None, allow_None=True, label="End (UTC)")
    kind: param.Selector = param.Selector(
        default="realtime", objects={label: k for k, label in TYPE_LABELS.items()}, label="Type")
    project: param.Selector = param.Selector(default=NO_PROJECT, objects=[NO_PROJECT],
                                             label="Project")
    title = param.String(default="", label="Title (default: your name)")
    note = param.String(default="", label="Note")
    conflicts = param.List(default=[], doc="Reservations in the way of the form's slot.")
    check = param.String(default="", doc="The preview of the form's slot, in words.")
    check_kind: param.Selector = param.Selector(default="info", objects=KINDS,
        doc="How the preview reads (``success`` only when it fits).")

    def __init__(self, source: CalendarSource, **params: Any) -> None:
        params.setdefault("day", utcnow().date())
        super().__init__(**params)
        self.source = source
        self.reservations: dict[str, ReservationOut] = {}
        self.names = Names(me=source.user.username)
        self._projects: dict[str, int] = {}
        self._checks = 0
        self._loading_form = False
        self._doc = session_document()
        self.timeline = Timeline(self._select, self._doc)
        self.widgets = CalendarWidgets(self)
        self._reset_form()

    # -- window and data ---------------------------------------------------------------------------
    @property
    def window(self) -> tuple[Any, Any]:
        return window_for(self.view, self.day or utcnow().date())

    def fetch(self) -> tuple[Catalog, list[ReservationOut]]:
        """Sites and projects, and the window's reservations (blocking, no state)."""
        return self.source.catalog(), self.source.window(*self.window)

    def set_data(self, catalog: Catalog, reservations: list[ReservationOut]) -> None:
        """Replace the state with freshly fetched data."""
        self.names = Names(self.source.user.username, {s.code: s for s in catalog.sites},
                           catalog.names)
        codes = {self.names.site(s.code): s.code for s in catalog.sites}
        self.param.site.objects = codes
        if self.site not in codes.values():
            self.site = next(iter(codes.values()), None)
        self._projects = dict(catalog.mine)
        self.param.project.objects = [NO_PROJECT, *catalog.mine]
        self.set_reservations(reservations)

    def set_reservations(self, reservations: list[ReservationOut]) -> None:
        """Show the window's reservations; the preview is checked again against them."""
        self.reservations = {r.id: r for r in reservations if r.status == "active"}
        self._reframe()
        if self.selected is not None and self.selected not in self.reservations:
            self.selected = None  # -> _selection_changed checks the form again
        else:
            self._check_conflicts()

    def load(self) -> None:
        """Fetch and show (blocking; for notebooks and tests)."""
        self.set_data(*self.fetch())

    def reload_window(self) -> None:
        """Re-read the visible window (after a navigation, an action or a feed event)."""
        run_blocking(partial(self.source.window, *self.window), self.set_reservations,
                     self._refused)

    @param.depends("view", "day", watch=True)
    def _navigated(self) -> None:
        self.clear_notice()
        self.reload_window()

    def navigate(self, direction: int) -> None:
        """Previous (``-1``), today (``0``) or next (``+1``) day / week / month."""
        today = utcnow().date()
        self.day = today if direction == 0 else step(self.view, self.day or today, direction)

    def _reframe(self) -> None:
        rows = sorted(self.reservations.values(), key=lambda r: (r.start, r.site))
        self.frame = pd.DataFrame([reservation_row(r, self.names, self.source.may_edit(r))
                                   for r in rows], columns=COLUMNS,
                                  index=pd.Index([r.id for r in rows], name="id"))
        self.widgets.show_table(not self.frame.empty)
        self._redraw()

    def _redraw(self) -> None:
        sites = [self.names.site(code) for code in self.names.sites]
        self.timeline.update(self.frame, sites, self.window, self.selected, utcnow())
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
        """Load the selected reservation into the form, then check the form again."""
        self.clear_notice()
        res = self.reservations.get(self.selected or "")
        if res is not None:
            labels: dict[int | None, str] = {pid: n for n, pid in self._projects.items()}
            self._loading_form = True
            try:
                self.param.update(site=res.site, start=res.start.replace(tzinfo=None),
                                  end=res.end.replace(tzinfo=None), kind=res.type,
                                  project=labels.get(res.project_id, NO_PROJECT),
                                  title=res.title, note=res.note)
            finally:
                self._loading_form = False
        self._reframe()
        self._check_conflicts()

    def new_booking(self) -> None:
        """Leave the selected reservation: the form books a new slot again."""
        self.selected = None
        self.widgets.table.selection = []  # no row stays highlighted
        self._reset_form()

    @property
    def editing(self) -> ReservationOut | None:
        """The selected reservation if the user may change it."""
        res = self.reservations.get(self.selected or "")
        return res if res is not None and self.source.may_edit(res) else None

    def _spec(self) -> ValidateIn | None:
        start, end = form_utc(self.start), form_utc(self.end)
        if not self.site or start is None or end is None:
            return None
        editing = self.editing
        return ValidateIn(site=self.site, start=start, end=end, type=self.kind,
                          title=self.title.strip() or None, note=self.note,
                          project_id=self._projects.get(self.project),
                          ignore_id=editing.id if editing else None)

    @param.depends("site", "start", "end", watch=True)
    def _check_conflicts(self) -> None:
        """Ask the service whether the form's slot fits (before anything is booked)."""
        if self._loading_form:
            return  # _selection_changed checks once the whole form is loaded
        self._checks += 1
        token = self._checks
        res = self.reservations.get(self.selected or "")
        if res is not None and not self.source.may_edit(res):
            self._set_check(token, [], readonly_text(self.names, res), "info")
            return
        try:
            spec = self._spec()
        except Exception as exc:  # pydantic: incomplete or malformed form
            self._set_check(token, [], f"Cannot book: {exc}", "error")
            return
        if spec is None:
            self._set_check(token, [], "Cannot book: pick a site, a start and an end.", "error")
            return
        run_blocking(partial(self.source.validate, spec), partial(self._checked, token),
                     lambda exc: self._set_check(token, [], f"Cannot book: {exc}", "error"))

    def _checked(self, token: int, answer: ValidateOut) -> None:
        if answer.ok:
            self._set_check(token, [], FITS_AS_EDITED if self.editing else FREE, "success")
        else:
            self._set_check(token, list(answer.conflicts),
                            f"In the way: {len(answer.conflicts)} reservation(s).", "warning")

    def _set_check(self, token: int, conflicts: list[ReservationOut], text: str,
                   kind: str) -> None:
        if token != self._checks:  # an older check finished after a newer one
            return
        self.param.update(conflicts=conflicts, check=text, check_kind=kind)
        self._show_proposal()
        self.widgets.update_buttons()

    @property
    def fits(self) -> bool:
        """True only when the last check of exactly this form said the slot is free."""
        return self.check_kind == "success"

    def _show_proposal(self) -> None:
        fits = None if self.check_kind in ("error", "info") else self.fits
        site = self.names.site(self.site) if self.site else None
        self.timeline.propose(site, form_utc(self.start), form_utc(self.end), fits)

    # -- actions -----------------------------------------------------------------------------------
    def book(self) -> None:
        """Book the form's slot as a new reservation."""
        spec = self._spec()
        if spec is None:
            self.say("Pick a site, a start and an end.", "warning")
            return
        data = spec.model_dump(exclude={"ignore_id"})
        run_blocking(partial(self.source.create, ReservationIn(**data)),
                     partial(self._done, "Booked"), self._refused)

    def save(self) -> None:
        """Apply the form to the selected reservation (only yours; the service checks)."""
        res = self.reservations.get(self.selected or "")
        if res is None:
            self.say("Select one of your reservations first.", "warning")
            return
        patch = ReservationPatch(start=form_utc(self.start), end=form_utc(self.end),
                                 type=self.kind, title=self.title.strip() or res.title,
                                 note=self.note, project_id=self._projects.get(self.project),
                                 version=res.version)
        run_blocking(partial(self.source.modify, res.id, patch), partial(self._done, "Saved"),
                     self._refused)

    def delete(self) -> None:
        """Cancel the selected reservation (only yours; the service checks)."""
        res = self.reservations.get(self.selected or "")
        if res is None:
            self.say("Select one of your reservations first.", "warning")
            return
        run_blocking(partial(self.source.cancel, res.id, res.version),
                     partial(self._done, "Cancelled"), self._refused)

    def _done(self, verb: str, res: ReservationOut) -> None:
        self.reservations[res.id] = res
        self.set_reservations(list(self.reservations.values()))
        if verb == "Booked":
            self.selected = res.id
        elif verb == "Cancelled":
            self.new_booking()
        self.say(f"{verb} **{escape_md(res.title)}** at {escape_md(self.names.site(res.site))}, "
                 f"{short_span(res.start, res.end)} UTC.", "success")
        self.reload_window()

    def _refused(self, exc: Exception) -> None:
        self.refused(exc)
        if isinstance(exc, Conflict):
            self.conflicts = list((exc.details or {}).get("conflicts", []))
            self.check_kind = "warning"
            self.widgets.update_buttons()

    # -- live feed ---------------------------------------------------------------------------------
    async def follow(self, hub: Any, since: int | None = None) -> None:
        """Reload the window after ``RESERVATION`` changes (one reload per burst)."""
        async def reload() -> None:
            rows = await asyncio.to_thread(self.source.window, *self.window)
            with_document(self._doc, partial(self.set_reservations, rows))

        await follow_objects(hub, WATCHER, [OBJECT_TYPE], reload, since)

    def __panel__(self) -> pn.viewable.Viewable:
        return self.widgets.layout()


async def build(ctx: Any, user: User) -> CalendarDashboard:
    """Page builder for ``panel serve``: load in a thread, show, then follow the live feed.

    The data is set before the Viewer is shown: its timeline is then drawn once, complete
    (a Bokeh figure resized while Material's page mounts it fails in the browser).
    """
    services = ctx.services
    dash = CalendarDashboard(source=CalendarSource(services.calendar.service,
                                                   services.activity.projects, user))
    assert served(), "build() runs in a served session"
    feed, since = await ctx.feed_from_now()
    if await first_load(dash.fetch, lambda data: dash.set_data(*data), dash.say, "the calendar"):
        follow_while_open(dash.follow(feed, since))
    return dash


__all__ = ["FREE", "NO_PROJECT", "CalendarDashboard", "build"]
