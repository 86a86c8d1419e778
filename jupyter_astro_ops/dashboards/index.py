"""The landing page's Viewer: one card per dashboard with its purpose and a live figure.

``IndexDashboard`` lists every app of ``registry.dashboards()``; each card shows the app's
one-line description (its docstring), its live figure (``index_source``: your requests waiting,
your running jobs, your bookings this week) and a link to it (relative: works under any
prefix). Like every Viewer it works alone in a notebook::

    dash = IndexDashboard(source=IndexSource(services, user)); dash.load(); dash

Under ``panel serve`` ``follow(hub)`` recomputes the figures after the user's events of the
live feed (one reload per burst), so the numbers stay current without a reload.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

import panel as pn
import panel_material_ui as pmui
import param

from ..core.identity import User
from .index_source import Figure, IndexSource, card_for
from .registry import AppInfo, dashboards
from .tasks import follow_objects, follow_while_open, session_document, with_document
from .text import escape_md

log = logging.getLogger(__name__)
CARD_WIDTH = 340


class IndexDashboard(pn.viewable.Viewer):
    """A card per dashboard: what it is for, a live figure, a link."""

    figures = param.Dict(default={}, doc="``{app name: Figure or None}`` of the cards.")
    loaded = param.Boolean(default=False, doc="True once the figures were read once.")

    def __init__(self, source: IndexSource, apps: list[AppInfo] | None = None,
                 **params: Any) -> None:
        super().__init__(**params)
        self.source = source
        self.apps = dashboards() if apps is None else apps
        self._doc = session_document()

    def fetch(self) -> dict[str, Figure | None]:
        """Every card's figure (blocking; touches no state)."""
        return self.source.figures([info.name for info in self.apps])

    def load(self) -> None:
        """Fetch and show (blocking; for notebooks and tests)."""
        self.set_figures(self.fetch())

    def set_figures(self, figures: dict[str, Figure | None]) -> None:
        self.figures = figures
        self.loaded = True

    async def follow(self, hub: Any, since: int | None = None) -> None:
        """Recompute the figures after the user's events (one reload per burst)."""
        async def reload() -> None:
            figures = await asyncio.to_thread(self.fetch)
            with_document(self._doc, partial(self.set_figures, figures))

        await follow_objects(hub, self.source.user, None, reload, since)

    # -- views -------------------------------------------------------------------------------
    def card(self, info: AppInfo) -> pmui.Card:
        """The card of one dashboard."""
        figure = self.figures.get(info.name)
        parts: list[Any] = [pmui.Typography(escape_md(info.description), variant="body2",
                                            sizing_mode="stretch_width")]
        if figure is not None:
            parts += [
                pmui.Row(pmui.Typography(str(figure.value), variant="h3", color="primary",
                                         name=f"{info.name}-figure", margin=(0, 10, 0, 0)),
                         pmui.Typography(escape_md(figure.label), variant="subtitle1",
                                         margin=(14, 0, 0, 0))),
                pmui.Typography(escape_md(figure.detail), variant="caption",
                                sizing_mode="stretch_width"),
            ]
        elif not self.loaded:
            parts.append(pmui.Typography("Loading...", variant="caption"))
        parts.append(pmui.Button(label=f"Open {info.title}", href=info.name, variant="contained",
                                 icon=card_for(info.name).icon))
        return pmui.Card(*parts, title=info.title, collapsible=False, width=CARD_WIDTH,
                         margin=10, elevation=2, name=f"card-{info.name}")

    @param.depends("figures", "loaded")
    def cards(self) -> pn.viewable.Viewable:
        if not self.apps:
            return pmui.Alert(object="No dashboards are installed.", severity="info",
                              alert_type="info")
        return pn.FlexBox(*(self.card(info) for info in self.apps), sizing_mode="stretch_width")

    def __panel__(self) -> pn.viewable.Viewable:
        intro = pmui.Typography(
            "Observatory operations in one place. Each card shows what waits for you; open a "
            "dashboard from its card or from the menu on the left.", variant="body1",
            sizing_mode="stretch_width", margin=(10, 10, 0, 10))
        return pmui.Column(intro, self.cards, sizing_mode="stretch_width")


def build(ctx: Any, user: User) -> IndexDashboard:
    """Page builder for ``panel serve``: read the figures in a thread, then follow the feed."""
    dash = IndexDashboard(source=IndexSource(ctx.services, user))

    async def start() -> None:
        feed, since = await ctx.feed_from_now()
        try:
            figures = await asyncio.to_thread(dash.fetch)
        except Exception:
            log.exception("index: loading the figures failed")
            figures = {}
        with_document(dash._doc, partial(dash.set_figures, figures))
        follow_while_open(dash.follow(feed, since))

    pn.state.execute(start)
    return dash
