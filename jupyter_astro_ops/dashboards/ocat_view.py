"""The Ocat dashboard: the status board with the sign buttons you may press, revision detail.

``OcatDashboard`` is the Viewer (page chrome stays in ``page.serve_page``): tabs for the
status board (``BoardView``, here), the submission form, express approval and the POC rota
(``ocat_forms``). State is param Parameters, widgets come from them per instance, data from
``OcatSource``; the same classes work in a notebook::

    dash = OcatDashboard(source=OcatSource(services.ocat, user)); dash.load(); dash

The action panel of the selected revision shows only the buttons the user may press (a sign
button per pending column of the user's roles, verification only when nothing else is
pending, "Sign off and approve", discard, undo of their own sign-off, withdraw of their own
revision); the service enforces the same rules anyway. Under ``panel serve`` ``follow(hub)``
reloads on ``OCAT_*`` activity events, so another user's sign-off shows up live.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import panel as pn
import panel_material_ui as pmui
import param

from ..core.identity import User
from ..ocat.schemas import BoardRow, CatalogOut, RevisionDetail, RevisionOut, RotaPeriodOut
from .ocat_forms import ExpressView, RotaView, SubmitView
from .ocat_source import (
    OBJECT_TYPES,
    WATCHER,
    OcatSource,
    board_frame,
    esc,
    values_frame,
    when,
)
from .tasks import first_load, follow_objects, follow_while_open, run_blocking, served
from .text import WRAP
from .widgets import alert

SORTS = {"Newest first": "submitted", "Obsid": "obsid", "Submitter": "submitter"}
SIGNOFF_WIDTH = 110  # five of them fit beside the other columns at 1400 px; text wraps
DETAIL_WIDTH = 900  # a revision's detail below the board: its tables read best this wide
EMPTY_BOARD = ("No open revisions, and none closed in the last 36 hours. Submit one on the "
               "**Submit** tab.")


def signoff_width(title: str) -> int:
    """Pixels for a sign-off column: ``SIGNOFF_WIDTH``, or its title and sort arrow."""
    return max(SIGNOFF_WIDTH, 9 * len(title) + 30)


class BoardView(pn.viewable.Viewer):
    """The status board, the selected revision's detail and its action buttons."""

    sort: param.Selector = param.Selector(default="Newest first", objects=list(SORTS),
                                          label="Sort by")
    frame = param.DataFrame(default=pd.DataFrame(), doc="The board's rows.")
    selected = param.String(default=None, allow_None=True, doc="obsid.rev of the selection.")
    note = param.String(default="", label="Note (sign) or reason (discard)")
    notice = param.String(default="", doc="Outcome of the last action.")
    notice_kind = param.String(default="info")

    def __init__(self, source: OcatSource, catalog: CatalogOut, **params: Any) -> None:
        super().__init__(**params)
        self.source = source
        self.catalog = catalog
        self.labels = {c.name: c.label for c in catalog.columns}
        self.rows: dict[str, BoardRow] = {}
        self.detail: RevisionDetail | None = None
        self.frame = board_frame([], list(self.labels))
        self._actions = pn.Column(sizing_mode="stretch_width")
        self._table = pn.widgets.Tabulator.from_param(
            self.param.frame, show_index=False, selectable=1, disabled=True,
            titles={"revision": "Revision", "target": "Target", "kind": "Kind",
                    "submitter": "Submitter", "submitted": "Submitted", "state": "State",
                    "notes": "Notes", **self.labels},
            pagination="local", page_size=10, sizing_mode="stretch_width",
            layout="fit_data_table", frozen_columns=["revision"], name="ocat-board",
            # widths from the first data would cut a later "signed (Observer One)": the
            # sign-off columns and the notes have their own, and their text wraps
            widths={"notes": 220, **{c: signoff_width(label) for c, label in self.labels.items()}},
            formatters={c: WRAP for c in ["notes", *self.labels]})
        self._table.param.watch(self._on_selection, "selection")

    # -- data --------------------------------------------------------------------------------
    def fetch(self) -> list[BoardRow]:
        return self.source.board(SORTS[self.sort])

    def set_rows(self, rows: list[BoardRow]) -> None:
        self.rows = {r.label: r for r in rows}
        self.frame = board_frame(rows, list(self.labels), self.source.names)
        if self.selected not in self.rows:
            self.selected, self.detail = None, None
        self._render_actions()

    def load(self) -> None:
        self.set_rows(self.fetch())
        if self.selected:
            self.set_detail(self.source.revision(self.selected))

    def reload(self) -> None:
        """Re-read the board (and the selected revision) off the event loop."""
        selected = self.selected

        def work() -> tuple[list[BoardRow], RevisionDetail | None]:
            rows = self.fetch()
            return rows, self.source.revision(selected) if selected else None

        self._background(work, self._reloaded)

    def _reloaded(self, data: tuple[list[BoardRow], RevisionDetail | None]) -> None:
        rows, detail = data
        self.set_rows(rows)
        if detail is not None and self.selected == detail.label:
            self.set_detail(detail)

    @param.depends("sort", watch=True)
    def _resorted(self) -> None:
        self.reload()

    def _on_selection(self, event: param.parameterized.Event) -> None:
        picked = event.new or []
        if picked and picked[0] < len(self.frame):
            self.select(str(self.frame.index[picked[0]]))

    def select(self, label: str) -> None:
        """Show ``label``'s detail and the buttons for it."""
        self.selected = label
        self._background(partial(self.source.revision, label), self.set_detail)

    def set_detail(self, detail: RevisionDetail) -> None:
        self.detail = detail
        self._render_actions()

    # -- actions -----------------------------------------------------------------------------------
    def allowed_actions(self) -> list[tuple[str, str, str | None]]:
        """``(button label, action, column)`` the user may press on the selected revision."""
        d = self.detail
        if d is None:
            return []
        me = self.source.user.username
        status = {s.column: s for s in d.signoffs}
        verification = next(c.name for c in self.catalog.columns if c.verification)
        others_pending = [c for c, s in status.items() if s.status == "pending"
                          and c != verification]
        out: list[tuple[str, str, str | None]] = []
        if d.state == "open":
            for column, s in status.items():
                if s.status != "pending" or not self.source.may_sign(column):
                    continue
                if column == verification:
                    if not others_pending:
                        out.append((f"Sign {self.labels[column]}", "sign", column))
                        out.append(("Sign off and approve", "approve", column))
                else:
                    out.append((f"Sign {self.labels[column]}", "sign", column))
            if self.source.may_discard():
                out.append(("Discard", "discard", None))
        if d.state in ("open", "closed") and d.kind in ("norm", "clone"):
            for column, s in status.items():
                if s.status in ("signed", "carried") and s.signer == me:
                    out.append((f"Undo {self.labels[column]}", "undo", column))
        if d.submitter == me and d.state in ("open", "closed") and not any(
                s.status in ("signed", "carried") and not (
                    d.kind in ("asis", "remove") and c == verification)
                for c, s in status.items()):
            out.append(("Withdraw", "withdraw", None))
        return out

    def act(self, action: str, column: str | None = None) -> None:
        """Run one action on the selected revision (the service checks again)."""
        d = self.detail
        if d is None:
            self.tell("Select a revision first.", "warning")
            return
        fns: dict[str, Callable[[], RevisionOut]] = {
            "sign": lambda: self.source.sign(d.label, str(column), d.version, note=self.note),
            "approve": lambda: self.source.sign(d.label, str(column), d.version, approve=True,
                                                note=self.note),
            "undo": lambda: self.source.undo(d.label, str(column), d.version),
            "discard": lambda: self.source.discard(d.label, self.note.strip(), d.version),
            "withdraw": lambda: self.source.withdraw(d.label, d.version),
        }
        if action == "discard" and not self.note.strip():
            self.tell("Give a reason to discard.", "warning")
            return
        verb = {"sign": "Signed", "approve": "Signed and approved", "undo": "Undid",
                "discard": "Discarded", "withdraw": "Withdrew"}[action]
        what = f"{self.labels.get(column or '', '')} of " if column else ""
        self._background(fns[action], lambda out: self._acted(f"{verb} {what}{out.label}."))

    def _acted(self, message: str) -> None:
        self.note = ""
        self.tell(message, "success")
        self.reload()

    def tell(self, message: str, kind: str = "info") -> None:
        self.notice, self.notice_kind = message, kind

    def _background(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        def fail(exc: Exception) -> None:
            self.tell(f"Refused: {exc}", "error")
            if served():
                self.reload()

        run_blocking(work, done, fail)

    # -- views ------------------------------------------------------------------------------
    def _render_actions(self) -> None:
        d = self.detail
        if d is None:
            self._actions[:] = [pn.pane.Markdown("Select a revision on the board to see its "
                                                 "values and what you can sign.")]
            return
        buttons: list[Any] = []
        for label, action, column in self.allowed_actions():
            kind = {"sign": "primary", "approve": "success", "discard": "danger"}.get(
                action, "light")
            button = pmui.Button(label=label, color="primary" if kind == "light" else kind,
                                 variant="outlined" if kind == "light" else "contained")
            button.on_click(partial(self._clicked, action, column))
            buttons.append(button)
        if not buttons:
            buttons = [pn.pane.Markdown("*Nothing here for you to sign.*")]
        signoffs = "\n".join(
            f"| {self.labels[s.column]} | {esc(s.status.replace('_', ' '))} | "
            f"{esc(self.source.name(s.signer))} | {when(s.signed_at)} | {esc(s.note)} |"
            for s in d.signoffs)
        head = (f"### {d.label} · {esc(d.target_name)} ({esc(d.instrument)})\n"
                f"**{d.kind}** by {esc(self.source.name(d.submitter))}, {when(d.submitted)} UTC"
                f" · **{d.state}**"
                + (f" · superseded by {d.superseded_by}" if d.superseded_by else "")
                + f"\n\n**Comment:** {esc(d.comment) or '—'}\n\n"
                "| Column | Status | By | When (UTC) | Note |\n|---|---|---|---|---|\n"
                + signoffs)
        warnings = [alert("\n".join(f"- {esc(w.message)}" for w in d.warnings),
                          "warning")] if d.warnings else []
        values = values_frame(d)
        table = (pn.widgets.Tabulator(values, show_index=False, disabled=True,
                                      selectable=False, sizing_mode="stretch_width")
                 if len(values) else pn.pane.Markdown("*No parameter changes.*"))
        self._actions[:] = [pn.pane.Markdown(head), *warnings, table,
                            pmui.TextInput.from_param(self.param.note),
                            pn.Row(*buttons)]

    def _clicked(self, action: str, column: str | None, _event: Any) -> None:
        self.act(action, column)

    @param.depends("notice", "notice_kind")
    def _notice(self) -> pn.viewable.Viewable:
        if not self.notice:
            return pn.Spacer(height=0)
        return alert(esc(self.notice), self.notice_kind)

    @param.depends("frame")
    def _empty(self) -> pn.viewable.Viewable:
        return pn.pane.Markdown(EMPTY_BOARD) if self.frame.empty else pn.Spacer(height=0)

    def __panel__(self) -> pn.viewable.Viewable:
        # the board spans the page, so every sign-off column shows without scrolling (beside
        # a detail pane it showed only up to "General"); the selected revision opens below
        return pn.Column(
            pmui.RadioButtonGroup.from_param(self.param.sort), self._empty, self._table,
            self._notice, pn.Column(self._actions, max_width=DETAIL_WIDTH),
            sizing_mode="stretch_width")


class OcatDashboard(pn.viewable.Viewer):
    """Board, submission, express approval and rota in tabs, for one user."""

    def __init__(self, source: OcatSource, **params: Any) -> None:
        super().__init__(**params)
        self.source = source
        catalog = source.catalog()
        self.board = BoardView(source, catalog)
        self.submit = SubmitView(source, catalog, on_done=self.board.reload)
        self.express = ExpressView(source, on_done=self.board.reload)
        self.rota = RotaView(source)

    def load(self) -> None:
        """Fetch everything (blocking; for notebooks and tests)."""
        self.board.load()
        self.rota.load()

    async def follow(self, hub: Any, since: int | None = None) -> None:
        """Reload the board and the rota after Ocat events (one reload per burst)."""
        doc = pn.state.curdoc if served() else None

        async def reload() -> None:
            rows = await asyncio.to_thread(self.board.fetch)
            detail = await asyncio.to_thread(self.source.revision, self.board.selected) \
                if self.board.selected else None
            periods = await asyncio.to_thread(self.source.rota)

            def apply() -> None:
                self.board._reloaded((rows, detail))
                self.rota.set_periods(periods)

            if doc is not None:
                doc.add_next_tick_callback(apply)
            else:
                apply()

        await follow_objects(hub, WATCHER, OBJECT_TYPES, reload, since)

    def __panel__(self) -> pn.viewable.Viewable:
        # Panel's own tabs, not pmui.Tabs: a Material tab panel that is not shown has no
        # Tabulator in the page, and the live board's updates then raise in the browser
        return pn.Tabs(("Status board", self.board), ("Submit", self.submit),
                       ("Express approve", self.express), ("POC rota", self.rota),
                       dynamic=False, sizing_mode="stretch_width")


async def build(ctx: Any, user: User) -> OcatDashboard:
    """Page builder for ``panel serve``: load in a thread before showing, then follow the feed."""
    people = ctx.services.activity.events.display_names
    dash = OcatDashboard(source=OcatSource(ctx.services.ocat, user, people))

    def fetch() -> tuple[list[BoardRow], list[RotaPeriodOut]]:
        return dash.board.fetch(), dash.source.rota()

    def show(data: tuple[list[BoardRow], list[RotaPeriodOut]]) -> None:
        dash.board.set_rows(data[0])
        dash.rota.set_periods(data[1])

    feed, since = await ctx.feed_from_now()
    if await first_load(fetch, show, dash.board.tell, "the Ocat board"):
        follow_while_open(dash.follow(feed, since))
    return dash
