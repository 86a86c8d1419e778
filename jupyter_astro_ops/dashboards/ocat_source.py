"""Ocat dashboard, data side: ``OcatSource`` and how rows become table cells.

``OcatSource`` is the blocking data access of one user through the Ocat parts (every rule,
who may sign what included, stays in the service); ``board_frame``/``values_frame``/
``verdict_frame``/``rota_frame`` format what the Viewers show (names, not ids; no NaN, no raw
booleans; user text escaped because Panel's Markdown renders HTML); ``WATCHER`` follows the
``OCAT_*`` events of the live feed (``tasks.follow_objects``).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

import pandas as pd

from ..compose import OcatParts
from ..core.identity import User
from ..ocat.schemas import (
    BoardQuery,
    BoardRow,
    CatalogOut,
    DiscardIn,
    ExpressIn,
    ExpressOut,
    ObservationOut,
    RevisionDetail,
    RevisionOut,
    RotaPeriodOut,
    SignIn,
    SubmitIn,
    SubmitOut,
    UndoIn,
    WithdrawIn,
)

WATCHER = User("astro-ops:ocat-dashboard", "Ocat dashboard", roles=frozenset({"admin"}))
OBJECT_TYPES = ["OCAT_REVISION", "OCAT_ROTA", "OCAT_OBSERVATION"]
TIME_FMT = "%Y-%m-%d %H:%M"
STATUS_TEXT = {"pending": "pending", "not_required": "—", "signed": "signed",
               "discarded": "discarded", "carried": "carried"}


def esc(text: Any) -> str:
    """User text for Markdown/HTML panes (comments, notes, target names)."""
    return html.escape("" if text is None else str(text))


def cell(value: Any) -> str:
    """A table cell: empty for nothing, Yes/No for booleans, numbers as written."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def signoff_cell(row: BoardRow, column: str, people: Mapping[str, str] | None = None) -> str:
    s = row.signoffs.get(column)
    if s is None:
        return ""
    text = STATUS_TEXT[s["status"]]
    signer = s["signer"]
    if not signer or s["status"] not in ("signed", "carried"):
        return text
    return f"{text} ({(people or {}).get(signer, signer)})"


def board_frame(rows: list[BoardRow], columns: list[str],
                people: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The status board as a table, one row per revision, indexed by ``obsid.rev``; people
    by their display names (``people``: username -> name) where known."""
    known = people or {}
    names = ["revision", "target", "kind", "submitter", "submitted", "state", *columns,
             "notes"]
    data = [{"revision": r.label, "target": r.target_name, "kind": f"{r.kind} · {r.obs_type}",
             "submitter": known.get(r.submitter, r.submitter),
             "submitted": r.submitted.strftime(TIME_FMT),
             "state": r.state, **{c: signoff_cell(r, c, known) for c in columns},
             "notes": "; ".join(r.notes)} for r in rows]
    return pd.DataFrame(data, columns=names, index=pd.Index([r.label for r in rows],
                                                            name="label"))


def values_frame(detail: RevisionDetail, changed_only: bool = True) -> pd.DataFrame:
    """Original / requested / current side by side (the changed parameters by default)."""
    rows = [v for v in detail.values if v.changed or not changed_only]
    return pd.DataFrame([{"Parameter": v.name, "Group": v.group, "Original": cell(v.original),
                          "Requested": cell(v.requested), "Current": cell(v.current)}
                         for v in rows], columns=["Parameter", "Group", "Original",
                                                  "Requested", "Current"])


def verdict_frame(out: ExpressOut) -> pd.DataFrame:
    return pd.DataFrame([{"Obsid": str(i.obsid), "Verdict": i.verdict, "Detail": i.detail,
                          "Revision": i.revision or ""} for i in out.items],
                        columns=["Obsid", "Verdict", "Detail", "Revision"])


def rota_frame(periods: list[RotaPeriodOut], today: date) -> pd.DataFrame:
    return pd.DataFrame([{"From": f"{p.start:%a %d %b %Y}", "To": f"{p.end:%a %d %b %Y}",
                          "Days": p.days, "POC": p.poc or "(open)",
                          "Now": "on duty" if p.start <= today <= p.end else ""}
                         for p in periods],
                        columns=["From", "To", "Days", "POC", "Now"],
                        index=pd.Index([p.id for p in periods], name="id"))


class OcatSource:
    """Blocking data access for one user; every rule is the service's."""

    def __init__(self, ocat: OcatParts, user: User,
                 people: Callable[[Iterable[str]], dict[str, str]] | None = None) -> None:
        self.ocat = ocat
        self.service = ocat.service
        self.user = user
        self._people = people  # usernames -> display names (activity's record of logins)
        self.names: dict[str, str] = {user.username: user.display_name or user.username}

    def name(self, username: str | None) -> str:
        """A person's display name when known, else the username."""
        return self.names.get(username, username) if username else ""

    def _learn(self, usernames: Iterable[str | None]) -> None:
        missing = {u for u in usernames if u and u not in self.names}
        if missing and self._people is not None:
            found = self._people(missing)
            self.names.update({u: found.get(u, u) for u in missing})

    def catalog(self) -> CatalogOut:
        return self.service.catalog_out(self.user)

    def board(self, sort: str = "submitted") -> list[BoardRow]:
        rows = self.service.board(self.user, BoardQuery(
            sort=sort, order="asc" if sort == "obsid" else "desc",  # type: ignore[arg-type]
            closed_hours=self.service.board_closed_hours))
        self._learn([r.submitter for r in rows]
                    + [s.get("signer") for r in rows for s in r.signoffs.values()])
        return rows

    def revision(self, label: str) -> RevisionDetail:
        obsid, rev = split_label(label)
        detail = self.service.revision(self.user, obsid, rev)
        self._learn([detail.submitter, *(s.signer for s in detail.signoffs)])
        return detail

    def observation(self, obsid: int) -> ObservationOut:
        return self.service.observation(self.user, obsid)

    def may_sign(self, column: str) -> bool:
        return self.service.may_sign(self.user, column)

    def may_discard(self) -> bool:
        return self.user.is_admin or any(self.user.has_role(r)
                                         for r in self.service.discard_roles)

    def may_submit(self) -> bool:
        return self.user.has_role(self.service.submit_role)

    def sign(self, label: str, column: str, version: int, approve: bool = False,
             note: str = "") -> RevisionOut:
        obsid, rev = split_label(label)
        return self.service.sign(self.user, obsid, rev, SignIn(
            column=column, approve=approve, version=version, note=note))

    def undo(self, label: str, column: str, version: int) -> RevisionOut:
        obsid, rev = split_label(label)
        return self.service.undo(self.user, obsid, rev, UndoIn(column=column, version=version))

    def discard(self, label: str, reason: str, version: int) -> RevisionOut:
        obsid, rev = split_label(label)
        return self.service.discard(self.user, obsid, rev,
                                    DiscardIn(reason=reason, version=version))

    def withdraw(self, label: str, version: int) -> RevisionOut:
        obsid, rev = split_label(label)
        return self.service.withdraw(self.user, obsid, rev, WithdrawIn(version=version))

    def submit(self, spec: SubmitIn) -> SubmitOut:
        return self.service.submit(self.user, spec)

    def express(self, text: str, dry_run: bool) -> ExpressOut:
        return self.service.express(self.user, ExpressIn(obsids=text, dry_run=dry_run))

    def rota(self) -> list[RotaPeriodOut]:
        return self.ocat.rota.periods(self.user)

    def signup(self, period_id: int, version: int) -> RotaPeriodOut:
        return self.ocat.rota.signup(self.user, period_id, version)

    def unlock(self, period_id: int, version: int) -> RotaPeriodOut:
        return self.ocat.rota.unlock(self.user, period_id, version)

    def today(self) -> date:
        return self.ocat.rota.today()


def split_label(label: str) -> tuple[int, int]:
    obsid, _, rev = label.partition(".")
    return int(obsid), int(rev)


def when(value: datetime | None) -> str:
    return value.strftime(TIME_FMT) if value else ""
