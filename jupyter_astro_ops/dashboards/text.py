"""How values read on a dashboard: times (UTC and local), sizes, durations, escaped user text.

Every Viewer formats through these helpers so that the pages agree: no raw booleans, no
``NaN``, sizes like ``1.5 MiB``, durations like ``3 min 20 s``, instants as
``Tue 02 Dec 02:00 UTC``, and text a user typed (titles, notes, messages, file names) escaped
before it goes into Markdown or HTML. Pure functions, no panel: the sources use them too.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..core.timeutil import as_utc

DAY_TIME = "%a %d %b %H:%M"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
# a Tabulator formatter: a cell's text wraps onto more lines (the row grows) instead of being
# cut with "...", so that names, titles and figures of any length read whole
WRAP = {"type": "textarea"}


def escape_md(text: object) -> str:
    """``text`` shown literally inside Markdown (no markup, no HTML, one line per line)."""
    escaped = html.escape(str(text), quote=False)  # quotes are harmless in Markdown text
    return _MD_SPECIAL.sub(r"\\\1", escaped)


def human_bytes(n: int | float | None) -> str:
    """``1.5 MiB``-style sizes for people (``""`` when unknown)."""
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover (the loop always returns)


def human_duration(seconds: float | None) -> str:
    """``45 s``, ``3 min 20 s``, ``2 h 05 min``, ``3 d 4 h`` (``""`` when unknown)."""
    if seconds is None or seconds != seconds or seconds < 0:  # None, NaN, negative
        return ""
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 file``, ``3 files``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def zone(name: str | None) -> ZoneInfo | None:
    """The time zone called ``name``, or ``None`` when it is unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def at_utc(t: datetime | None) -> str:
    """``Tue 02 Dec 02:00 UTC``."""
    return "" if t is None else f"{as_utc(t):{DAY_TIME}} UTC"


def span(start: datetime, end: datetime, tz: ZoneInfo | None = None) -> str:
    """``Tue 02 Dec 02:00-05:00 UTC`` (the end's day too when it differs); with ``tz`` the
    local time follows: ``... UTC (Mon 01 Dec 19:00-22:00 MST)``."""
    text = _span(as_utc(start), as_utc(end), "UTC")
    if tz is None:
        return text
    local_start, local_end = as_utc(start).astimezone(tz), as_utc(end).astimezone(tz)
    return f"{text} ({_span(local_start, local_end, local_start.tzname() or str(tz))})"


def _span(start: datetime, end: datetime, label: str) -> str:
    last = f"{end:%H:%M}" if start.date() == end.date() else f"{end:{DAY_TIME}}"
    return f"{start:{DAY_TIME}}-{last} {label}"


def short_span(start: datetime, end: datetime) -> str:
    """``02 Dec 02:00-05:00`` (UTC, for one-line descriptions)."""
    start, end = as_utc(start), as_utc(end)
    last = f"{end:%H:%M}" if start.date() == end.date() else f"{end:%d %b %H:%M}"
    return f"{start:%d %b %H:%M}-{last}"


def ago(t: datetime, now: datetime | None = None) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, ``2 d ago``."""
    seconds = ((now or datetime.now(timezone.utc)) - as_utc(t)).total_seconds()
    if seconds < 45:
        return "just now"
    amount, unit = human_duration(seconds).split(" ")[:2]  # the largest unit only
    return f"{amount} {unit} ago"


__all__ = ["ago", "at_utc", "escape_md", "human_bytes", "human_duration", "plural",
           "short_span", "span", "zone"]
