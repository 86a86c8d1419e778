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
import panel_material_ui as pmui
import param

from ..activity.feed import FeedHub
from ..activity.schemas import EventFilter, EventOut
from ..activity.states import Action, Status
from ..core.identity import User
from .activity_source import ActivitySource
from .activity_text import (
    COLUMNS,
    HIDDEN,
    TITLES,
    WIDTHS,
    describe,
    event_row,
    ids_line,
    summary,
    user_log,
    who,
)
from .tasks import first_load, follow_while_open, run_blocking, served
from .text import WRAP, escape_md
from .widgets import Notice, TableOrEmpty, alert, empty_state

log = logging.getLogger(__name__)
FILTER_WIDTH = 230
FLUSH_MS = 200
EMPTY = ("No events match the filters. Clear a filter above, or wait: new events appear here "
         "live, without a reload.")
NOTHING_SELECTED = "Select a row to see the event's details and log; a pending request you " \
    "may decide shows Approve and Deny here."


class ActivityDashboard(Notice, pn.viewable.Viewer):
    """Live activity feed with filters, details and approve/deny for pending requests."""

    status = param.ListSelector(default=[], objects=[s.value for s in Status])
    action = param.ListSelector(default=[], objects=[a.value for a in Action])
    object_type = param.ListSelector(default=[], objects=[], label="Object type")
    user = param.String(default="", label="User", doc="Only events of this user name.")
    frame = param.DataFrame(default=pd.DataFrame(columns=COLUMNS), doc="Visible rows.")
    selected = param.String(default=None, allow_None=True, doc="Id of the selected event.")
    pending = param.List(default=[], item_type=str, doc="Requests the user may decide.")
    message = param.String(default="", label="Message to the requester")
    cursor = param.Integer(default=0, doc="Feed cursor: the newest sequence number seen.")

    def __init__(self, source: ActivitySource, **params: Any) -> None:
        super().__init__(**params)
        self.source = source
        self.events: dict[str, EventOut] = {}
        self.project_names: dict[int, str] = {}
        self.param.object_type.objects = sorted(source.object_types())
        self._build_widgets()

    # -- data (no widgets involved) --------------------------------------------------------------
    def fetch(self) -> tuple[list[EventOut], set[str], dict[int, str]]:
        """Recent events, pending request ids and the events' project names (blocking;
        touches no state, thread-safe)."""
        events = self.source.recent()
        pids = {ev.project_id for ev in events if ev.project_id is not None}
        return events, self.source.pending_ids(), self.source.project_names(pids)

    def set_data(self, events: list[EventOut], pending: set[str],
                 names: dict[int, str] | None = None) -> None:
        """Replace the state with freshly fetched data."""
        self.project_names.update(names or {})
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
        unknown = {ev.project_id for ev in self.events.values()
                   if ev.project_id is not None and ev.project_id not in self.project_names}
        if unknown:
            self._background(partial(self.source.project_names, unknown), self._named)
        if touched_pending:
            self._background(self.source.pending_ids, lambda ids: self._set_pending(ids))

    def _named(self, names: dict[int, str]) -> None:
        self.project_names.update(names)
        self._refilter()

    def decide(self, decision: str) -> None:
        """Approve or deny the selected request with ``message``."""
        if not self.selected:
            self.say("Select a pending request first.", "warning")
            return
        self._background(partial(self.source.decide, self.selected, decision, self.message),
                         partial(self._decided, decision))

    def _decided(self, decision: str, ev: EventOut) -> None:
        # no status in the notice: it would go stale as the worker carries the request out;
        # the details below show the live status
        self.say(f"{decision.title()}d the request of {escape_md(who(ev))}: "
                 f"{escape_md(describe(ev))}.", "success")
        self.message = ""
        self.apply([ev])

    def _set_pending(self, ids: set[str]) -> None:
        self.pending = sorted(ids)

    def _trim(self) -> None:
        if len(self.events) > self.source.max_rows:
            keep = sorted(self.events.values(), key=lambda e: e.seq)[-self.source.max_rows:]
            self.events = {ev.id: ev for ev in keep}

    @param.depends("status", "action", "object_type", "user", watch=True)
    def _filtered(self) -> None:
        self.clear_notice()
        self._refilter()

    def _refilter(self) -> None:
        rows = [ev for ev in self.events.values() if self._matches(ev)]
        rows.sort(key=lambda e: e.seq, reverse=True)
        frame = pd.DataFrame([event_row(ev, self.project_names) for ev in rows],
                             columns=COLUMNS, index=pd.Index([ev.id for ev in rows], name="id"))
        ids = list(frame.index)
        if self.selected is not None and self.selected not in ids:
            self.selected = None  # the filter hid it: the details must not keep showing it
        self.frame = frame
        if hasattr(self, "_table"):  # keep the highlight on the selected event, not its row
            self._table.selection = [ids.index(self.selected)] if self.selected in ids else []
            self._view.show(bool(ids))

    def _matches(self, ev: EventOut) -> bool:
        return ((not self.status or ev.status.value in self.status)
                and (not self.action or ev.action.value in self.action)
                and (not self.object_type or ev.object.type in self.object_type)
                and (not self.user or ev.user == self.user.strip()))

    def _background(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """Run blocking ``work`` off the event loop when served; inline in a notebook/test."""
        run_blocking(work, done, self._refused)

    def _refused(self, exc: Exception) -> None:
        self.refused(exc)

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
            pagination="local", page_size=10, sizing_mode="stretch_width",
            layout="fit_columns", titles=TITLES, widths=WIDTHS, hidden_columns=HIDDEN,
            formatters={c: WRAP for c in ("user", "what", "project", "last_message")},
            name="events",
        )
        self._table.param.watch(self._on_selection, "selection")
        self._view = TableOrEmpty(self._table, empty_state(EMPTY, name="no-events"))
        self._approve = pmui.Button(label="Approve", color="success", variant="contained")
        self._deny = pmui.Button(label="Deny", color="error", variant="outlined")
        self._approve.on_click(lambda _e: self.decide("approve"))
        self._deny.on_click(lambda _e: self.decide("deny"))
        self._filters = pmui.Row(
            pmui.MultiChoice.from_param(self.param.status, width=FILTER_WIDTH),
            pmui.MultiChoice.from_param(self.param.action, width=FILTER_WIDTH),
            pmui.MultiChoice.from_param(self.param.object_type, width=FILTER_WIDTH),
            pmui.TextInput.from_param(self.param.user, placeholder="user name",
                                      width=FILTER_WIDTH),
            sizing_mode="stretch_width",
        )

    def _on_selection(self, event: param.parameterized.Event) -> None:
        rows = event.new or []
        if rows and rows[0] < len(self.frame):
            chosen = str(self.frame.index[rows[0]])
            if chosen != self.selected:
                self.clear_notice()  # the outcome was about another event
            self.selected = chosen

    @param.depends("selected", "pending", "frame", "notice", "notice_kind")
    def details(self) -> pn.viewable.Viewable:
        """The selected event with its data and log, and the decision form if it applies."""
        ev = self.events.get(self.selected or "")
        parts: list[Any] = [alert(self.notice, self.notice_kind)] if self.notice else []
        if ev is None:
            return pmui.Column(*parts, pmui.Typography(NOTHING_SELECTED, variant="body2",
                                                       margin=(5, 10)),
                               sizing_mode="stretch_width")
        parts += [pn.pane.Markdown(summary(ev, self.project_names), name="summary",
                                   sizing_mode="stretch_width"),
                  pmui.Row(pn.pane.Markdown(_log_text(ev), sizing_mode="stretch_width",
                                            name="log"),
                           pn.pane.JSON(ev.data, depth=2, name="data", width=340),
                           sizing_mode="stretch_width"),
                  pmui.Typography(ids_line(ev), variant="caption", margin=(0, 10))]
        if ev.id in self.pending:
            parts.append(pmui.Column(
                pmui.Typography("Decide this request", variant="subtitle1"),
                pmui.TextAreaInput.from_param(self.param.message, rows=2, width=500),
                pmui.Row(self._approve, self._deny)))
        return pmui.Column(*parts, sizing_mode="stretch_width")

    def __panel__(self) -> pn.viewable.Viewable:
        return pmui.Column(self._filters, self._view.box, self.details,
                           sizing_mode="stretch_width")


def _log_text(ev: EventOut) -> str:
    """The event's log for people, one Markdown line per entry (UTC times)."""
    lines = [f"- `{e.time:%d %b %H:%M:%S}` {'' if e.level == 'info' else e.level.upper() + ' '}"
             f"{escape_md(e.message)}" for e in user_log(ev)]
    return "**Log (UTC)**\n\n" + ("\n".join(lines) or "(no entries)")


async def build(ctx: Any, user: User) -> ActivityDashboard:
    """Page builder for ``panel serve``: load in a thread before showing, then follow the feed."""
    dash = ActivityDashboard(source=ActivitySource(ctx.services.activity, user))
    if await first_load(dash.fetch, lambda data: dash.set_data(*data), dash.say,
                        "the activity feed"):
        follow_while_open(dash.follow(await ctx.feed()))
    return dash
