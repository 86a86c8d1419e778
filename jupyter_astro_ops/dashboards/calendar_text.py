"""How the Calendar dashboard reads: names for ids, table rows, the preview and the summary.

``Names`` turns ids into what people call things (``Santa Fe (saf)``, project names, "You" or
the booker's display name) and knows each site's time zone, so times read in UTC *and* at the
site. User text (titles, notes) is escaped wherever it goes into Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from ..calendar.schemas import ReservationOut, SiteOut
from .text import escape_md, span, zone

COLUMNS = ["site", "times", "title", "kind", "who", "project", "when", "local", "note",
           "start_utc", "end_utc", "mine", "editable"]
HIDDEN = ["when", "local", "note", "start_utc", "end_utc", "mine", "editable"]
TITLES = {"site": "Site", "times": "When", "title": "Title",
          "kind": "Type", "who": "Booked by", "project": "Project"}
TYPE_LABELS = {"realtime": "Realtime", "project": "Project time"}
NO_PROJECT_TEXT = "-"


@dataclass
class Names:
    """Names and time zones for the ids a reservation carries."""

    me: str = ""
    sites: dict[str, SiteOut] = field(default_factory=dict)
    projects: dict[int, str] = field(default_factory=dict)

    def site(self, code: str) -> str:
        site = self.sites.get(code)
        return f"{site.name} ({code})" if site else code

    def tz(self, code: str) -> ZoneInfo | None:
        site = self.sites.get(code)
        return zone(site.timezone) if site else None

    def project(self, pid: int | None) -> str:
        if pid is None:
            return NO_PROJECT_TEXT
        return self.projects.get(pid, "another project")

    def who(self, res: ReservationOut) -> str:
        if res.creator_id == self.me:
            return "You"
        return res.creator_name or res.creator_id

    def local_span(self, res: ReservationOut) -> str:
        """The reservation at the site's own clock (``Mon 01 Dec 19:00-22:00 MST``)."""
        tz = self.tz(res.site)
        if tz is None:
            return ""
        text = span(res.start, res.end, tz)
        return text[text.index("(") + 1:-1]


def utc_span(res: ReservationOut) -> str:
    """``Tue 02 Dec 02:00-05:00`` (the column says UTC)."""
    return span(res.start, res.end).removesuffix(" UTC")


def reservation_row(res: ReservationOut, names: Names, editable: bool) -> dict[str, Any]:
    """One table row (``COLUMNS``); strings only where people read, flags hidden."""
    utc, local = utc_span(res), names.local_span(res)
    return {"site": names.site(res.site), "times": f"{utc} UTC\n{local}" if local else utc,
            "when": utc, "local": local, "title": res.title,
            "kind": TYPE_LABELS.get(res.type, res.type), "who": names.who(res),
            "project": names.project(res.project_id), "note": res.note, "start_utc": res.start,
            "end_utc": res.end, "mine": res.creator_id == names.me, "editable": editable}


def conflict_list(conflicts: list[ReservationOut], names: Names) -> str:
    """The reservations in the way, as Markdown list items (user text escaped)."""
    return "".join(f"\n- **{escape_md(c.title)}** by {escape_md(names.who(c))}, "
                   f"{escape_md(names.site(c.site))}, {escape_md(span(c.start, c.end))}"
                   for c in conflicts)


def selected_summary(res: ReservationOut, names: Names, editable: bool) -> str:
    """Markdown about the selected reservation: what, when, whose, and what the user may do."""
    owner = "your booking" if res.creator_id == names.me else \
        f"booked by {escape_md(names.who(res))}"
    rights = "you may edit or cancel it" if editable else "read-only for you"
    lines = [f"**{escape_md(res.title)}** · {escape_md(names.site(res.site))}",
             escape_md(span(res.start, res.end, names.tz(res.site))),
             f"{TYPE_LABELS.get(res.type, res.type)} · project "
             f"{escape_md(names.project(res.project_id))} · {owner} ({rights})"]
    if res.note:
        lines.append(f"Note: {escape_md(res.note)}")
    return "  \n".join(lines)


def selected_ids(res: ReservationOut) -> str:
    """The ids, for the details only."""
    origin = f" · imported from {res.origin} ({escape_md(res.external_id or '')})" \
        if res.origin != "ptr" else ""
    return f"id `{res.id}`{origin}"


__all__ = ["COLUMNS", "HIDDEN", "TITLES", "TYPE_LABELS", "Names", "conflict_list",
           "reservation_row", "selected_ids", "selected_summary", "utc_span"]
