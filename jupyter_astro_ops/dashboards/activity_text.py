"""How the Activity dashboard reads: what an event is about, in words, and its table row.

An event's ``action``/``object`` pair (``REQ PROJECT``) says little to a person and reads the
same for a join and a create, so ``describe`` names what happened ("Request: join project
M31 survey"); project ids become project names; the job runner's own bookkeeping lines
("attempt 1 by worker vm:...") are not shown to users; no raw ``NaN`` or ``None``. Ids stay in
the details only. Pure functions, no panel.
"""

from __future__ import annotations

import re
from typing import Any

from ..activity.schemas import EventOut, LogEntry
from .text import escape_md

COLUMNS = ["seq", "updated", "user", "what", "status", "project", "last_message",
           "object_type"]
HIDDEN = ["seq", "object_type"]
TITLES = {"updated": "Updated (UTC)", "user": "Who", "what": "What", "status": "Status",
          "project": "Project", "last_message": "Last log line"}
WIDTHS = {"updated": 145, "user": 175, "what": 280, "status": 100, "project": 130}
ACTION_WORDS = {"ADD": "Added", "DEL": "Removed", "MOD": "Changed", "REQ": "Request:"}
REQUEST_WORDS = {"project.create": "create project", "project.join": "join project"}
# the request worker's bookkeeping (``activity.worker``): internal, not for users
WORKER_LINE = re.compile(r"^attempt \d+ by worker ")
NO_PROJECT = "-"


def user_log(ev: EventOut) -> list[LogEntry]:
    """The log lines a person should read (no debug lines, no worker bookkeeping)."""
    return [e for e in ev.log if e.level != "debug" and not WORKER_LINE.match(e.message)]


def describe(ev: EventOut) -> str:
    """What the event is about, in words: ``Request: join project M31 survey``."""
    data = ev.data or {}
    name = data.get("name")
    if ev.action.value == "REQ" and data.get("kind") in REQUEST_WORDS:
        what = f"Request: {REQUEST_WORDS[data['kind']]}"
    else:
        noun = ev.object.type.lower().replace("_", " ")
        what = f"{ACTION_WORDS.get(ev.action.value, ev.action.value)} {noun}"
        if name is None and ev.object.id and len(ev.object.id) < 24:  # a short, readable id
            name = ev.object.id
    return f"{what} {name}" if name else what


def project_label(pid: int | None, names: dict[int, str]) -> str:
    """A project's name (``-`` for none; ``project 7`` if its name is unknown)."""
    if pid is None:
        return NO_PROJECT
    return names.get(pid, f"project {pid}")


def who(ev: EventOut) -> str:
    """The acting person as people know them: the display name recorded with the event, else
    the username (system actors such as importers have only that)."""
    return ev.user_name or ev.user


def who_in_full(ev: EventOut) -> str:
    """``Carol (carol)`` where the display name says something the username does not."""
    name = who(ev)
    return name if name == ev.user else f"{name} ({ev.user})"


def event_row(ev: EventOut, names: dict[int, str]) -> dict[str, Any]:
    """One table row of an event (``COLUMNS``); strings where people read."""
    lines = user_log(ev)
    return {
        "seq": ev.seq, "updated": f"{ev.updated:%d %b %H:%M:%S}", "user": who(ev),
        "what": describe(ev), "status": ev.status.value,
        "project": project_label(ev.project_id, names),
        "last_message": lines[-1].message if lines else "", "object_type": ev.object.type,
    }


def summary(ev: EventOut, names: dict[int, str]) -> str:
    """Markdown about one event: what, status, who, project, when; ids last."""
    previous = f" (was {ev.previous_status.value})" if ev.previous_status else ""
    message = (ev.data or {}).get("message")
    lines = [f"**{escape_md(describe(ev))}**",
             f"Status **{ev.status.value}**{previous} · by {escape_md(who_in_full(ev))} · project "
             f"{escape_md(project_label(ev.project_id, names))}",
             f"Created {ev.created:%a %d %b %Y %H:%M} UTC · updated "
             f"{ev.updated:%a %d %b %Y %H:%M} UTC"]
    if message:
        lines.append(f"Message: {escape_md(message)}")
    return "  \n".join(lines)


def ids_line(ev: EventOut) -> str:
    """The ids, for the details only."""
    ref = f"{ev.object.type} {ev.object.id}" if ev.object.id else ev.object.type
    return f"event `{ev.id}` · {escape_md(ref)} · feed #{ev.seq}"


__all__ = ["COLUMNS", "HIDDEN", "TITLES", "WIDTHS", "describe", "event_row", "ids_line",
           "project_label", "summary", "user_log", "who", "who_in_full"]
