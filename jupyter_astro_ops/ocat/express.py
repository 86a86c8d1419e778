"""Express approval: parse an obsid list, give each obsid a verdict, approve the approvable.

The list is what people paste: ``12001-12005, 12010;12011 12012:12013`` (ranges ``a-b``,
separators ``,`` ``;`` ``:`` or whitespace). It is bounded twice: by length in the schema
(``ExpressIn.obsids``) and by count here *before* any range is expanded (``cap``,
``c.OcatService.express_max``), so ``1-999999999`` is a 400, not a memory spike.

Verdicts (the original's express page): ``approvable``; ``already approved``; ``unknown``
(not in the catalog); ``blocked: observed or canceled``; ``blocked: no SI mode``; ``warning:
opened by another POC`` (approvable, with a warning). After approving, ``mark_revisions``
gives each approved item its new revision and ``skipped`` groups the others by verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.errors import ValidationError
from ..core.identity import User
from .models import OcatObservation
from .queries import approved_map
from .schemas import ExpressItem

SEPARATORS = re.compile(r"[\s,;:]+")
RANGE = re.compile(r"^(\d{1,7})-(\d{1,7})$")
APPROVABLE = frozenset({"approvable", "warning: opened by another POC"})


def parse_obsids(text: str, cap: int) -> list[int]:
    """The obsids of ``text`` in order, duplicates dropped; more than ``cap`` is a 400."""
    cleaned = re.sub(r"\s*-\s*", "-", text.strip())
    tokens = [t for t in SEPARATORS.split(cleaned) if t]
    if not tokens:
        raise ValidationError("no obsids given")
    spans: list[tuple[int, int]] = []
    count = 0
    for token in tokens:
        match = RANGE.match(token)
        if match:
            first, last = int(match.group(1)), int(match.group(2))
        elif token.isdigit() and len(token) <= 7:
            first = last = int(token)
        else:
            raise ValidationError(f"not an obsid or a range a-b: {token[:40]!r}")
        if first < 1 or last < first:
            raise ValidationError(f"bad range {token!r}: the first obsid must be >= 1 and "
                                  "not above the last")
        count += last - first + 1
        if count > cap:
            raise ValidationError(f"more than {cap} obsids (c.OcatService.express_max)")
        spans.append((first, last))
    seen: dict[int, None] = {}
    for first, last in spans:
        for obsid in range(first, last + 1):
            seen.setdefault(obsid, None)
    return list(seen)


def verdicts(session: Session, user: User, obsids: Sequence[int], *,
             blocked_statuses: Sequence[str], si_param: Callable[[str], str | None]
             ) -> list[ExpressItem]:
    """One verdict per obsid, read in a few batched statements."""
    rows: dict[int, OcatObservation] = {}
    for start in range(0, len(obsids), 900):
        chunk = list(obsids[start:start + 900])
        rows.update({o.obsid: o for o in session.scalars(
            select(OcatObservation).where(OcatObservation.obsid.in_(chunk)))})
    approved = approved_map(session, rows)
    out = []
    for obsid in obsids:
        obs = rows.get(obsid)
        if obs is None:
            out.append(ExpressItem(obsid=obsid, verdict="unknown",
                                   detail="not in the observation catalog"))
            continue
        param = si_param(obs.instrument)
        si_mode = (obs.values or {}).get(param) if param else None
        if approved[obsid]:
            item = ExpressItem(obsid=obsid, verdict="already approved", detail=obs.target_name)
        elif obs.status in blocked_statuses:
            item = ExpressItem(obsid=obsid, verdict="blocked: observed or canceled",
                               detail=f"status {obs.status}")
        elif param and (si_mode is None or not str(si_mode).strip()):
            item = ExpressItem(obsid=obsid, verdict="blocked: no SI mode",
                               detail=f"{obs.instrument} without {param}")
        elif obs.poc and obs.poc != user.username:
            item = ExpressItem(obsid=obsid, verdict="warning: opened by another POC",
                               detail=f"POC is {obs.poc}")
        else:
            item = ExpressItem(obsid=obsid, verdict="approvable", detail=obs.target_name)
        out.append(item)
    return out


def mark_revisions(todo: Sequence[ExpressItem], labels: Sequence[str]) -> list[str]:
    """Give each approved item its new revision (``labels``: ``"obsid.rev"``); the labels in
    the order the obsids were asked."""
    by_obsid = {int(label.split(".")[0]): label for label in labels}
    for item in todo:
        item.revision = by_obsid.get(item.obsid)
    return [i.revision for i in todo if i.revision]


def skipped(items: Sequence[ExpressItem]) -> dict[str, list[int]]:
    """The obsids not approved, by verdict."""
    out: dict[str, list[int]] = {}
    for item in items:
        if item.verdict not in APPROVABLE:
            out.setdefault(item.verdict, []).append(item.obsid)
    return out
