"""Widgets and views shared by the Viewers: an ISO-typable instant field, notices, empty states.

* ``IsoDatetimeInput``: a Material text field for an instant that takes what people type
  (``2026-12-02 02:00``, ``2026-12-02T02:00Z``, ``...+01:00``; seconds optional) and means UTC,
  unlike a mouse-only picker.
* ``Notice``: the outcome of the last action (``notice`` text and its ``notice_kind``), a
  param mixin every Viewer uses, so a refusal always reads as an error and a notice can be
  cleared when what it talks about is gone.
* ``empty_state``: what an empty table shows instead of a bare header (what to do next);
  ``TableOrEmpty`` swaps a table and its empty state in one container.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import panel as pn
import panel_material_ui as pmui
import param

KINDS = ["info", "success", "warning", "error"]


def parse_typed_instant(text: str) -> datetime | None:
    """An instant typed by a person as naive UTC, or ``None`` if it is not ISO 8601."""
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


class IsoDatetimeInput(pmui.DatetimeInput):
    """``pmui.DatetimeInput`` that accepts any ISO 8601 instant typed into it (see module)."""

    format = param.String(default="%Y-%m-%d %H:%M", doc="How the instant is shown.")

    def _process_property_change(self, props: dict[str, Any]) -> dict[str, Any]:
        props = dict(props)
        for key in ("value", "value_input"):  # the picker sends ms since the epoch (UTC)
            sent = props.get(key)
            if isinstance(sent, int | float) and not isinstance(sent, bool):
                props[key] = from_epoch_ms(sent)
        typed = props.get("value")  # while typing, value_input stays the text as typed
        if isinstance(typed, str) and typed.strip():
            typed = parse_typed_instant(typed)
        if isinstance(typed, datetime):
            props["value"] = typed.strftime(self.format)  # Panel parses it by its format
        return super()._process_property_change(props)


def from_epoch_ms(ms: float) -> datetime | None:
    """Milliseconds since the epoch as naive UTC, ``None`` when out of range."""
    try:
        return datetime.fromtimestamp(ms / 1000, timezone.utc).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


class Notice(param.Parameterized):
    """Mixin: the outcome of the last action, with its kind (a refusal is an ``error``)."""

    notice = param.String(default="", doc="Outcome of the last action (Markdown, escaped).")
    notice_kind: param.Selector = param.Selector(default="info", objects=KINDS, doc="How it reads.")

    def say(self, text: str, kind: str = "info") -> None:
        self.param.update(notice=text, notice_kind=kind)

    def refused(self, exc: Exception) -> None:
        """A refusal by the service: an error, in its own words."""
        self.say(f"Refused: {exc}", "error")

    def clear_notice(self) -> None:
        if self.notice:
            self.param.update(notice="", notice_kind="info")


def alert(text: str, kind: str = "info", name: str = "notice", **params: Any) -> pmui.Alert:
    """A Material alert of ``kind`` (``info``, ``success``, ``warning``, ``error``)."""
    return pmui.Alert(object=text, severity=kind, alert_type=kind, name=name,
                      sizing_mode="stretch_width", margin=(5, 5), **params)


def empty_state(text: str, name: str = "empty") -> pmui.Alert:
    """What an empty table shows instead (say what to do)."""
    return alert(text, "info", name=name, variant="outlined")


class TableOrEmpty:
    """A table, or its empty state when it has no rows, in one container (``box``).

    The two are swapped in and out of ``box`` instead of toggling ``visible``: a Tabulator
    that gets its first rows while hidden fails in the browser ("reading 'rowManager'").
    """

    def __init__(self, table: pn.widgets.Tabulator, empty: pmui.Alert) -> None:
        self.table, self.empty = table, empty
        self.box = pn.Column(empty, sizing_mode="stretch_width", margin=0)

    @property
    def showing_table(self) -> bool:
        return self.box.objects == [self.table]

    def show(self, has_rows: bool) -> None:
        wanted = self.table if has_rows else self.empty
        if self.box.objects != [wanted]:
            self.box.objects = [wanted]


__all__ = ["KINDS", "IsoDatetimeInput", "Notice", "TableOrEmpty", "alert", "empty_state",
           "parse_typed_instant"]
