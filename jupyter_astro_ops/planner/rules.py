"""The block rules of the planner, checked in the service for every caller (framework-free).

What P-Squared checked in its browser only (or not at all), as explicit errors:

* an unknown location, a zero-length block, a required note missing: ``ValidationError``
  (400) naming the block;
* more blocks on a day than ``max_blocks_per_day`` (counting every entry of the person that
  day, imported ones too): 400;
* blocks that overlap, within the request or with the person's other blocks (the day
  before and after too, for overnight blocks): ``Conflict`` (409) naming both (P-Squared's
  server silently dropped these);
* a location the caller may not put on their own row: ``Forbidden`` (403).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from ..core.errors import Conflict, Forbidden, ValidationError
from ..core.identity import User
from . import timing
from .locations import LocationType
from .schemas import BlockIn

# The role that may change anyone's row, edit employees and holidays, run imports and approve
# swaps. Map it to people with ``c.AstroOpsApp.roles``; ``admin`` implies it.
PLANNER_ADMIN = "planner_admin"


def require_admin(user: User, action: str) -> None:
    """403 unless ``user`` is a planner admin."""
    user.require_role(PLANNER_ADMIN, action)


@dataclass(frozen=True)
class Span:
    """A block as the rules see it: a location over ``[start, end)`` UTC, and whose it is."""

    location: str
    start: datetime
    end: datetime
    entry_id: str | None = None
    origin: str = "hand"
    day: date | None = None
    zone: str = "UTC"

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def label(self) -> str:
        """``"SUNight 18:00-06:00 on 2026-12-01 (night import, entry 1a2b...)"``."""
        tz = timing.zone(self.zone)
        text = (f"{self.location} {timing.local_clock(self.start, tz)}-"
                f"{timing.local_clock(self.end, tz)}")
        if self.day is not None:
            text += f" on {self.day.isoformat()}"
        if self.entry_id is not None:
            what = "hand entry" if self.origin == "hand" else f"{self.origin} import"
            text += f" ({what} {self.entry_id})"
        return text


def spans_of(day: date, blocks: Sequence[BlockIn], zone_name: str,
             types: Mapping[str, LocationType], note: str) -> list[Span]:
    """Turn typed blocks of ``day`` into UTC spans; 400 on unknown locations, zero-length
    blocks, local times that do not exist that day, or a missing required note."""
    tz = timing.zone(zone_name)
    out = []
    for number, block in enumerate(blocks, 1):
        kind = types.get(block.location)
        if kind is None:
            raise ValidationError(f"block {number}: unknown location {block.location!r} "
                                  f"(known: {', '.join(sorted(types))})")
        start, end = timing.minutes(block.start), timing.minutes(block.end)
        if start == end:
            raise ValidationError(f"block {number} ({block.location} {block.start}-"
                                  f"{block.end}) has zero length")
        if kind.note_required and not note.strip():
            raise ValidationError(f"block {number}: {kind.label} ({kind.code}) needs a note")
        begin, finish = timing.interval(day, start, end, tz, strict=True)
        out.append(Span(block.location, begin, finish, day=day, zone=zone_name))
    return out


def check_count(day: date, new: Sequence[Span], others: Iterable[Span], limit: int) -> None:
    """400 if the person's day would hold more than ``limit`` blocks."""
    kept = [s for s in others if s.day == day]
    total = len(new) + len(kept)
    if total > limit:
        extra = f" (with {len(kept)} already there)" if kept else ""
        raise ValidationError(f"{day.isoformat()}: {total} blocks{extra}; at most {limit} "
                              "per day are allowed")


def check_overlaps(new: Sequence[Span], others: Iterable[Span]) -> None:
    """409 naming the first clash among ``new`` or between ``new`` and ``others``."""
    ordered = sorted(new, key=lambda s: s.start)
    for first, second in itertools.pairwise(ordered):
        if first.overlaps(second):
            raise overlap(second, first)
    for span in ordered:
        for other in others:
            if span.overlaps(other):
                raise overlap(span, other)


def overlap(span: Span, other: Span) -> Conflict:
    """The 409 for two overlapping blocks."""
    return Conflict(f"{span.label()} overlaps {other.label()}",
                    details={"block": span.label(), "clash": other.label(),
                             "clash_entry_id": other.entry_id})


def check_settable(user_roles: Iterable[str], codes: Iterable[str],
                   types: Mapping[str, LocationType], who: str) -> None:
    """403 if ``who`` (not a planner admin) may not put one of ``codes`` on their own row."""
    roles = set(user_roles)
    for code in codes:
        kind = types.get(code)
        if kind is not None and not kind.settable_by(roles):  # unknown codes: 400 later
            allowed = ", ".join(kind.self_service) or "planner admins only"
            raise Forbidden(f"{who} may not set {kind.label} ({code}) on their own row "
                            f"(allowed: {allowed}); ask a planner admin")


__all__ = ["PLANNER_ADMIN", "Span", "check_count", "check_overlaps", "check_settable", "overlap",
           "require_admin", "spans_of"]
