"""The Calendar dashboard's timeline: a Bokeh figure with one row per site.

Reservations are ``hbar`` glyphs (``left=start``, ``right=end``) on a categorical y axis of
site names (``Santa Fe (saf)``), coloured by project (realtime bookings share one colour) with
a legend, labelled with their title and booker (the title alone on a narrow bar; a label is
cut, or left out, where it would run into the next bar of its row), and with hover tooltips
(UTC and site time, booker, type, project, note). The user's own bookings have a dark
outline; the candidate booking of the form is a dashed outline, green when it fits and red
when it clashes, so the conflict is visible before anything is booked; a red line marks now.

The figure and its data sources are built once per session and updated in place (Bokeh syncs
the changed columns over the session's websocket; resources are served by the local panel
server, no CDN). Every change goes through ``tasks.with_document``: callers may run outside
the document lock (Panel runs some widget callbacks as plain tasks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, Range1d, TapTool
from bokeh.models.annotations import Label, Span
from bokeh.plotting import figure

from .tasks import with_document

PALETTE = ["#8fb8de", "#f2b880", "#a8d5a2", "#d7a9e3", "#f4a3a8", "#9ed9d8", "#e8d48b",
           "#c2b8a3"]
REALTIME = "#c9d3dd"
SELECTED = "#f0a202"
FITS = "#2e9d4a"
CLASHES = "#d1343b"
MINE_LINE = "#0d2440"
OTHERS_LINE = "#ffffff"
ROW_PX = 46
LABEL_MIN_FRACTION = 0.045  # bars narrower than this share of the window: title only
SHORT_LABEL = 16  # characters of a narrow bar's title (it runs past the bar's end)
# a label must fit before the next bar of its row, measured on a plot this wide (the figure
# stretches with the page; this is a narrow one) in characters of the 11 px font this wide
PLOT_PX = 640
CHAR_PX = 6.5
LABEL_OFFSET_PX = 3  # a label starts this far right of its bar's start
TOOLTIPS = [("", "@title"), ("site", "@site"), ("UTC", "@when"), ("at the site", "@local"),
            ("booked by", "@who"), ("type", "@kind"), ("project", "@project"),
            ("note", "@note")]
COLUMNS = ("id", "site", "left", "label_x", "right", "mid", "title", "label", "who", "kind",
           "project", "group", "note", "when", "local", "color", "line", "width")


def _naive(t: datetime) -> datetime:
    """Bokeh datetime axes take naive UTC instants."""
    return t.replace(tzinfo=None)


def _cut(text: str, chars: int) -> str:
    """``text`` in at most ``chars`` characters (an ellipsis marks a cut); "" below 4."""
    if len(text) <= chars:
        return text
    return text[:chars - 1] + "…" if chars >= 4 else ""


def labels(rows: Sequence[dict[str, Any]], window: tuple[datetime, datetime]) -> list[str]:
    """The label of each row's bar: title and booker on a wide bar (the title once when it is
    the booker's name, the default), the title (at most ``SHORT_LABEL`` characters) on a
    narrow one; either cut to the room before the next bar of the same site (or the window's
    end), so labels never run over each other."""
    start, end = window
    length = (end - start).total_seconds() or 1.0
    by_site: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_site.setdefault(str(row["site"]), []).append(i)
    out = [""] * len(rows)
    for order in by_site.values():
        order.sort(key=lambda i: rows[i]["start_utc"])
        for k, i in enumerate(order):
            row = rows[i]
            left = max(row["start_utc"], start)
            stop = min(rows[order[k + 1]]["start_utc"], end) if k + 1 < len(order) else end
            room = int(((stop - left).total_seconds() / length * PLOT_PX - LABEL_OFFSET_PX - 1)
                       // CHAR_PX)
            bar = (row["end_utc"] - row["start_utc"]).total_seconds() / length
            title = str(row["title"])
            who = str(row["who"])
            text = ((title if who == title else f"{title} · {who}") if bar >= LABEL_MIN_FRACTION
                    else _cut(title, SHORT_LABEL))
            out[i] = text if len(text) <= room else _cut(title, room)
    return out


def group_of(row: dict[str, Any]) -> str:
    """The legend entry of a row: its project, or its type when it has none."""
    project = row.get("project") or "-"
    return str(row["kind"]) if project == "-" else str(project)


class Timeline:
    """Owns the figure; ``update`` redraws bookings, window and now; ``propose`` the slot."""

    def __init__(self, on_select: Callable[[str | None], None], doc: Any | None = None) -> None:
        self._on_select = on_select
        self._doc = doc  # the served session's document; None in a notebook or a test
        self._ids: list[str] = []
        self._colors: dict[str, str] = {}
        self.bookings = ColumnDataSource({k: [] for k in COLUMNS})
        self.proposal = ColumnDataSource({"site": [], "left": [], "right": [], "color": []})
        self.figure = self._build()
        self.bookings.selected.on_change("indices", self._tapped)

    def _build(self) -> Any:
        fig = figure(x_axis_type="datetime", y_range=FactorRange(factors=["-"]), height=200,
                     x_range=Range1d(start=datetime(2000, 1, 1), end=datetime(2000, 1, 8)),
                     sizing_mode="stretch_width", tools="xpan,xwheel_zoom,reset",
                     toolbar_location="right", name="timeline", min_border_left=10)
        bars = fig.hbar(y="site", left="left", right="right", height=0.62, source=self.bookings,
                        fill_color="color", fill_alpha=0.95, line_color="line",
                        line_width="width", legend_field="group",
                        nonselection_fill_alpha=0.95, nonselection_fill_color="color",
                        selection_fill_color=SELECTED)
        fig.text(x="label_x", y="site", text="label", source=self.bookings, text_align="left",
                 text_baseline="middle", text_font_size="11px", text_color="#1b1b1b",
                 x_offset=LABEL_OFFSET_PX)
        fig.hbar(y="site", left="left", right="right", height=0.85, source=self.proposal,
                 fill_alpha=0.12, fill_color="color", line_color="color", line_width=2,
                 line_dash="dashed")
        fig.add_tools(HoverTool(renderers=[bars], tooltips=TOOLTIPS),
                      TapTool(renderers=[bars]))
        self.now = Span(dimension="height", line_color=CLASHES, line_width=2, line_alpha=0.8)
        self.now_label = Label(x=0, y=0, y_units="screen", text="now", text_color=CLASHES,
                               text_font_size="11px", x_offset=3, y_offset=2, visible=False)
        fig.add_layout(self.now)
        fig.add_layout(self.now_label)
        legend = fig.legend[0]
        legend.orientation = "horizontal"
        legend.label_text_font_size = "11px"
        legend.click_policy = "none"
        fig.add_layout(legend, "above")
        fig.xgrid.grid_line_alpha = 0.4
        fig.ygrid.grid_line_color = None
        fig.yaxis.major_label_text_font_size = "12px"
        return fig

    def color_of(self, group: str, kind: str) -> str:
        """A stable colour per legend group (realtime bookings: one grey)."""
        if group == kind and kind in ("Realtime", "Project time"):
            return REALTIME if kind == "Realtime" else PALETTE[-1]
        if group not in self._colors:
            self._colors[group] = PALETTE[len(self._colors) % (len(PALETTE) - 1)]
        return self._colors[group]

    def update(self, frame: pd.DataFrame, sites: Sequence[str], window: tuple[datetime, datetime],
               selected: str | None, now: datetime) -> None:
        """Show ``frame`` (the dashboard's rows) over ``window`` with ``sites`` (labels) as rows."""
        start, end = window
        rows = frame.to_dict("records") if not frame.empty else []
        ids = list(frame.index)
        data: dict[str, list[Any]] = {k: [] for k in COLUMNS}
        for rid, row, label in zip(ids, rows, labels(rows, window), strict=True):
            left, right = row["start_utc"], row["end_utc"]
            group = group_of(row)
            values = {"id": rid, "site": row["site"], "left": _naive(left),
                      "label_x": _naive(max(left, start)),
                      "right": _naive(right), "mid": _naive(left + (right - left) / 2),
                      "title": row["title"], "who": row["who"], "kind": row["kind"],
                      "label": label, "project": row["project"], "group": group,
                      "note": row["note"],
                      "when": row["when"], "local": row["local"],
                      "color": SELECTED if rid == selected else self.color_of(group, row["kind"]),
                      "line": MINE_LINE if row["mine"] else OTHERS_LINE,
                      "width": 2.5 if row["mine"] else 1.0}
            for key, value in values.items():
                data[key].append(value)
        factors = list(reversed(sites)) or ["-"]  # the first site on top
        inside = start <= now < end

        def apply() -> None:
            self._ids = ids
            self.bookings.data = data
            self.figure.y_range.factors = factors
            self.figure.height = max(200, 110 + ROW_PX * len(factors))
            self.figure.x_range.start = _naive(start)
            self.figure.x_range.end = _naive(end)
            self.now.location = _naive(now)
            self.now.visible = inside
            self.now_label.x = _naive(now)
            self.now_label.visible = inside
            self.bookings.selected.indices = []

        self._apply(apply)

    def propose(self, site: str | None, start: datetime | None, end: datetime | None,
                fits: bool | None) -> None:
        """Outline the form's slot at ``site`` (a label; nothing when incomplete or invalid)."""
        data: dict[str, list[Any]] = {"site": [], "left": [], "right": [], "color": []}
        if site and start is not None and end is not None and end > start:
            data = {"site": [site], "left": [_naive(start)], "right": [_naive(end)],
                    "color": [CLASHES if fits is False else FITS]}

        def apply() -> None:
            self.proposal.data = data

        self._apply(apply)

    def _apply(self, change: Callable[[], None]) -> None:
        """Change the models at once while no page shows them, else with the document lock."""
        with_document(self._doc if self.figure.document is not None else None, change)

    def _tapped(self, _attr: str, _old: list[int], new: list[int]) -> None:
        if new and new[0] < len(self._ids):
            self._on_select(self._ids[new[0]])
