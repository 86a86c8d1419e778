"""The Activity dashboard's Viewer: the live event feed, event details, request decisions.

``ActivityDashboard`` is the Viewer: its state is param Parameters (filters, the visible
frame, the selected event, the decision message), its widgets are built from them per
instance, and it works the same in a notebook (data comes from ``activity_source``)::

    dash = ActivityDashboard(source=ActivitySource(services.activity, user)); dash.load(); dash

Under ``panel serve`` ``follow(ctx)`` subscribes to the process's activity ``FeedHub`` and
pushes each new event into the session with ``doc.add_next_tick_callback``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import pandas as pd
import panel as pn
import param

from ..activity.feed import FeedHub
from ..activity.schemas import EventFilter, EventOut
from ..activity.states import Action, Status
from ..core.identity import User
from ..core.timeutil import isoformat
from .activity_source import ActivitySource
from .tasks import follow_while_open, run_blocking, served

log = logging.getLogger(__name__)
COLUMNS = ["seq", "updated", "user", "action", "object_type", "object_id", "status",
           "project_id", "last_message"]
TITLES = {"seq": "#", "updated": "Updated (UTC)", "user": "User", "action": "Action",
          "object_type": "Object", "object_id": "Id", "status": "Status",
          "project_id": "Project", "last_message": "Last log line"}
FILTER_WIDTH = 220
FLUSH_MS = 200


def event_row(ev: EventOut) -> dict[str, Any]:
    """One table row of an event."""
    return {
        "seq": ev.seq, "updated": ev.updated.strftime("%Y-%m-%d %H:%M:%S"), "user": ev.user,
        "action": ev.action.value, "object_type": ev.object.type, "object_id": ev.object.id,
        "status": ev.status.value, "project_id": ev.project_id,
        "last_message": ev.log[-1].message if ev.log else "",
    }


class ActivityDashboard(pn.viewable.Viewer):
    """Live activity feed with filters, details and approve/deny for pending requests."""

    status = param.ListSelector(default=[], objects=[s.value for s in Status])
    action = param.ListSelector(default=[], objects=[a.value for a in Action])
    object_type = param.ListSelector(default=[], objects=[], label="Object type")
    user = param.String(default="", label="User", doc="Only events of this user name.")
    frame = param.DataFrame(default=pd.DataFrame(columns=COLUMNS), doc="Visible rows.")
    selected = param.String(default=None, allow_None=True, doc="Id of the selected event.")
    pending = param.List(default=[], item_type=str, doc="Requests the user may decide.")
    message = param.String(default="", label="Message to the requester")
    notice = param.String(default="", doc="Outcome of the last action.")
    cursor = param.Integer(default=0, doc="Feed cursor: the newest sequence number seen.")

    def __init__(self, source: ActivitySource, **params: Any) -> None:
        super().__init__(**params)
        self.source = source
        self.events: dict[str, EventOut] = {}
        self.param.object_type.objects = sorted(source.object_types())
        self._build_widgets()

    # -- data (no widgets involved) --------------------------------------------------------------
    def fetch(self) -> tuple[list[EventOut], set[str]]:
        """Recent events and pending request ids (blocking; touches no state, thread-safe)."""
        return self.source.recent(), self.source.pending_ids()

    def set_data(self, events: list[EventOut], pending: set[str]) -> None:
        """Replace the state with freshly fetched data."""
        self.events = {ev.id: ev for ev in events}
        self.cursor = max((ev.seq for ev in events), default=0)
        self.pending = sorted(pending)
        self._refilter()

    def load(self) -> None:
        """Fetch and show (blocking; for notebooks and tests)."""
        self.set_data(*self.fetch())

    def apply(self, events: Iterable[EventOut]) -> None:
        """Merge new or changed events (from the live feed or a decision) into the view."""
        new_types, touched_pending = set(), False
        for ev in events:
            old = self.events.get(ev.id)
            if old is None or ev.seq >= old.seq:
                self.events[ev.id] = ev
            self.cursor = max(self.cursor, ev.seq)
            new_types.add(ev.object.type)
            touched_pending |= ev.status == Status.PENDING or ev.id in self.pending
        known = set(self.param.object_type.objects)
        if not new_types <= known:
            self.param.object_type.objects = sorted(known | new_types)
        self._trim()
        self._refilter()
        if touched_pending:
            self._background(self.source.pending_ids, lambda ids: self._set_pending(ids))

    def decide(self, decision: str) -> None:
        """Approve or deny the selected request with ``message``."""
        if not self.selected:
            self.notice = "Select a pending request first."
            return
        self._background(partial(self.source.decide, self.selected, decision, self.message),
                         partial(self._decided, decision))

    def _decided(self, decision: str, ev: EventOut) -> None:
        self.notice = f"{decision.title()}d request {ev.id[:8]} ({ev.status.value})."
        self.message = ""
        self.apply([ev])

    def _set_pending(self, ids: set[str]) -> None:
        self.pending = sorted(ids)

    def _trim(self) -> None:
        if len(self.events) > self.source.max_rows:
            keep = sorted(self.events.values(), key=lambda e: e.seq)[-self.source.max_rows:]
            self.events = {ev.id: ev for ev in keep}

    @param.depends("status", "action", "object_type", "user", watch=True)
    def _refilter(self) -> None:
        rows = [ev for ev in self.events.values() if self._matches(ev)]
        rows.sort(key=lambda e: e.seq, reverse=True)
        frame = pd.DataFrame([event_row(ev) for ev in rows], columns=COLUMNS,
                             index=pd.Index([ev.id for ev in rows], name="id"))
        self.frame = frame
        if hasattr(self, "_table"):  # keep the highlight on the selected event, not its row
            ids = list(frame.index)
            self._table.selection = [ids.index(self.selected)] if self.selected in ids else []

    def _matches(self, ev: EventOut) -> bool:
        return ((not self.status or ev.status.value in self.status)
                and (not self.action or ev.action.value in self.action)
                and (not self.object_type or ev.object.type in self.object_type)
                and (not self.user or ev.user == self.user.strip()))

    def _background(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Run blocking ``work`` off the event loop when served; inline in a notebook/test."""
        run_blocking(work, done, self._refused)

    def _refused(self, exc: Exception) -> None:
        self.notice = f"Refused: {exc}"

    # -- live feed ---------------------------------------------------------------------------------
    async def follow(self, hub: FeedHub) -> None:
        """Apply every event the hub delivers after ``cursor``, until cancelled.

        Events are batched: one table update per ``FLUSH_MS`` however many arrive. If the hub
        drops the subscription (a stuck session overflowed its queue), it resumes from the
        cursor; replayed events are merged, not duplicated.
        """
        doc = pn.state.curdoc if served() else None
        inbox: list[EventOut] = []

        def flush() -> None:
            batch = inbox[:]
            inbox.clear()
            self.apply(batch)

        while hub.running:
            subscription = hub.subscribe(self.source.user, EventFilter(), self.cursor)
            try:
                async for ev in subscription:
                    if doc is None:
                        self.apply([ev])
                        continue
                    if not inbox:
                        doc.add_timeout_callback(flush, FLUSH_MS)
                    inbox.append(ev)
            finally:
                subscription.close()
            await asyncio.sleep(1.0)

    # -- views -------------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self._table = pn.widgets.Tabulator.from_param(
            self.param.frame, show_index=False, selectable=1, disabled=True,
            pagination="local", page_size=20, sizing_mode="stretch_width",
            layout="fit_data_stretch", titles=TITLES, name="events",
        )
        self._table.param.watch(self._on_selection, "selection")
        self._approve = pn.widgets.Button(name="Approve", button_type="success")
        self._deny = pn.widgets.Button(name="Deny", button_type="danger")
        self._approve.on_click(lambda _e: self.decide("approve"))
        self._deny.on_click(lambda _e: self.decide("deny"))
        self._filters = pn.Column(
            pn.widgets.MultiChoice.from_param(self.param.status, width=FILTER_WIDTH),
            pn.widgets.MultiChoice.from_param(self.param.action, width=FILTER_WIDTH),
            pn.widgets.MultiChoice.from_param(self.param.object_type, width=FILTER_WIDTH),
            pn.widgets.TextInput.from_param(self.param.user, placeholder="user name",
                                            width=FILTER_WIDTH),
            width=FILTER_WIDTH + 20,
        )

    def _on_selection(self, event: param.parameterized.Event) -> None:
        rows = event.new or []
        if rows and rows[0] < len(self.frame):
            self.selected = str(self.frame.index[rows[0]])

    @param.depends("selected", "pending", "frame", "notice")
    def details(self) -> pn.viewable.Viewable:
        """The selected event with its data and log, and the decision form if it applies."""
        ev = self.events.get(self.selected or "")
        parts: list[Any] = [pn.pane.Alert(self.notice, alert_type="info")] if self.notice else []
        if ev is None:
            return pn.Column(*parts, pn.pane.Markdown("Select an event to see its log."))
        parts += [pn.pane.Markdown(_summary(ev), sizing_mode="stretch_width"),
                  pn.Row(pn.pane.JSON(ev.data, depth=2, name="data", width=360),
                         pn.pane.DataFrame(_log_frame(ev), index=False, justify="left",
                                           sizing_mode="stretch_width"))]
        if ev.id in self.pending:
            parts.append(pn.Column(
                "**Decide this request**",
                pn.widgets.TextAreaInput.from_param(self.param.message, height=70),
                pn.Row(self._approve, self._deny)))
        return pn.Column(*parts, sizing_mode="stretch_width")

    def __panel__(self) -> pn.viewable.Viewable:
        main = pn.Column(self._table, self.details, sizing_mode="stretch_width")
        return pn.Row(self._filters, main, sizing_mode="stretch_width")


def _summary(ev: EventOut) -> str:
    previous = f" (was {ev.previous_status.value})" if ev.previous_status else ""
    return (f"#### {ev.action.value} {ev.object.type} {ev.object.id or ''}\n\n"
            f"**Status:** {ev.status.value}{previous} · **by** {ev.user} · "
            f"**project** {ev.project_id if ev.project_id is not None else '-'}  \n"
            f"**Created** {isoformat(ev.created)} · **updated** {isoformat(ev.updated)} · "
            f"seq {ev.seq} · id `{ev.id}`")


def _log_frame(ev: EventOut) -> pd.DataFrame:
    return pd.DataFrame([{"time": isoformat(e.time), "level": e.level, "message": e.message}
                         for e in ev.log], columns=["time", "level", "message"])


def build(ctx: Any, user: User) -> ActivityDashboard:
    """Page builder for ``panel serve``: load in a thread, then follow the live feed."""
    dash = ActivityDashboard(source=ActivitySource(ctx.services.activity, user))

    async def start() -> None:
        try:
            dash.set_data(*await asyncio.to_thread(dash.fetch))
        except Exception:  # say so on the page rather than show an empty table
            log.exception("activity dashboard: initial load failed")
            dash.notice = "Could not load the activity feed; reload the page to retry."
            return
        follow_while_open(dash.follow(await ctx.feed()))

    pn.state.execute(start)
    return dash
