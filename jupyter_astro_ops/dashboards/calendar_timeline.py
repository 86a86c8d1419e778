"""The Calendar dashboard's timeline: a Bokeh figure with one row per site.

Reservations are ``hbar`` glyphs (``left=start``, ``right=end``) on a categorical y axis of site
codes; the candidate booking of the form is drawn as an outlined bar, green when it fits and red
when it clashes, so the conflict is visible before anything is booked. The figure and its data
sources are built once per session and updated in place (Bokeh syncs the changed columns over
the session's websocket; resources are served by the local panel server, no CDN).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Range1d, TapTool
from bokeh.models.annotations import Span
from bokeh.plotting import figure

MINE = "#2b7bb9"
OTHERS = "#9aa5b1"
SELECTED = "#f0a202"
FITS = "#2e9d4a"
CLASHES = "#d1343b"
ROW_PX = 44
TOOLTIPS = [("", "@title"), ("site", "@site"), ("when", "@when"), ("by", "@who"),
            ("type", "@type"), ("project", "@project")]


def _naive(t: datetime) -> datetime:
    """Bokeh datetime axes take naive UTC instants."""
    return t.replace(tzinfo=None)


class Timeline:
    """Owns the figure; ``update`` redraws bookings, window and the proposed slot."""

    def __init__(self, on_select: Callable[[str | None], None]) -> None:
        self._on_select = on_select
        self._ids: list[str] = []
        self.bookings = ColumnDataSource(self._empty_bookings())
        self.proposal = ColumnDataSource({"site": [], "left": [], "right": [], "color": []})
        self.figure = self._build()
        self.bookings.selected.on_change("indices", self._tapped)

    @staticmethod
    def _empty_bookings() -> dict[str, list[Any]]:
        return {k: [] for k in ("id", "site", "left", "right", "title", "who", "type",
                                "project", "when", "color", "alpha")}

    def _build(self) -> Any:
        fig = figure(x_axis_type="datetime", y_range=FactorRange(factors=["-"]), height=160,
                     x_range=Range1d(start=datetime(2000, 1, 1), end=datetime(2000, 1, 8)),
                     sizing_mode="stretch_width", tools="xpan,xwheel_zoom,reset",
                     toolbar_location="right", name="timeline")
        bars = fig.hbar(y="site", left="left", right="right", height=0.6, source=self.bookings,
                        fill_color="color", fill_alpha="alpha", line_color="#333333",
                        nonselection_fill_alpha="alpha", nonselection_fill_color="color")
        fig.hbar(y="site", left="left", right="right", height=0.8, source=self.proposal,
                 fill_alpha=0.12, fill_color="color", line_color="color", line_width=2,
                 line_dash="dashed")
        fig.add_tools(HoverTool(renderers=[bars], tooltips=TOOLTIPS),
                      TapTool(renderers=[bars]))
        self.now = Span(dimension="height", line_color=CLASHES, line_alpha=0.5, line_width=1)
        fig.add_layout(self.now)
        fig.xgrid.grid_line_alpha = 0.4
        fig.ygrid.grid_line_color = None
        return fig

    def update(self, frame: pd.DataFrame, sites: Sequence[str], window: tuple[datetime, datetime],
               selected: str | None, now: datetime) -> None:
        """Show ``frame`` (the dashboard's rows) over ``window`` with ``sites`` as rows."""
        start, end = window
        rows = frame.to_dict("records") if not frame.empty else []
        self._ids = list(frame.index)
        data = self._empty_bookings()
        for rid, row in zip(self._ids, rows, strict=True):
            data["id"].append(rid)
            data["site"].append(row["site"])
            data["left"].append(_naive(row["start_utc"]))
            data["right"].append(_naive(row["end_utc"]))
            data["title"].append(row["title"])
            data["who"].append(row["who"])
            data["type"].append(row["type"])
            data["project"].append(row["project"])
            data["when"].append(f"{row['start']} .. {row['end']}")
            data["color"].append(SELECTED if rid == selected
                                 else MINE if row["editable"] else OTHERS)
            data["alpha"].append(0.9 if row["editable"] else 0.6)
        self.bookings.data = data
        factors = list(reversed(sites))  # the first site on top
        self.figure.y_range.factors = factors
        self.figure.height = max(160, 60 + ROW_PX * len(factors))
        self.figure.x_range.start = _naive(start)
        self.figure.x_range.end = _naive(end)
        self.now.location = _naive(now)
        self.bookings.selected.indices = []

    def propose(self, site: str | None, start: datetime | None, end: datetime | None,
                fits: bool | None) -> None:
        """Outline the form's slot (nothing when it is incomplete or invalid)."""
        if not site or start is None or end is None or end <= start:
            self.proposal.data = {"site": [], "left": [], "right": [], "color": []}
            return
        color = CLASHES if fits is False else FITS
        self.proposal.data = {"site": [site], "left": [_naive(start)], "right": [_naive(end)],
                              "color": [color]}

    def _tapped(self, _attr: str, _old: list[int], new: list[int]) -> None:
        if new and new[0] < len(self._ids):
            self._on_select(self._ids[new[0]])
