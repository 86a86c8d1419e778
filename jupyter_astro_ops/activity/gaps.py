"""Commit-order gaps in the change journal, and when the feed may step over one.

On PostgreSQL a change takes its ``seq`` from a sequence before it commits, so ``seq`` 7 can be
visible while 6 is still in flight; 6 may also never appear (its transaction rolled back). The
feed must not move its cursor past 6 while 6 may still commit, nor wait for it forever.

A missing ``seq`` is *settled* (safe to skip) when either

* ``timeout`` seconds passed since it was first seen (the fallback, any database), or
* (PostgreSQL) every transaction that was in progress right after the read that first saw the
  gap has ended before a later read that still misses it. The writer of the missing change was
  in progress at the first read (else it would have been visible, or never existed), and had a
  transaction id by then: the activity service always writes the event row before the journal
  row, so the id exists before the ``seq`` is drawn. If all those transactions are over and the
  row is still missing, it was rolled back. A rolled-back write then costs one poll, not
  ``timeout`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

IN_PROGRESS = text("SELECT pg_snapshot_xip(pg_current_snapshot())::text")


@dataclass
class Gap:
    """A missing seq: when it was first seen, and who was writing just after that."""

    first_seen: float
    waiters: frozenset[str] | None = None


def in_progress(session: Session) -> frozenset[str] | None:
    """Ids of the transactions running now (PostgreSQL), ``None`` where unknown (SQLite)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return None
    return frozenset(session.scalars(IN_PROGRESS))


class GapTracker:
    """Decides how far the feed cursor may advance over a list of visible seqs."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.gaps: dict[int, Gap] = {}

    @property
    def pending(self) -> bool:
        return bool(self.gaps)

    @property
    def unwatched(self) -> bool:
        """Gaps first seen by the last read, whose writers are not known yet."""
        return any(g.waiters is None for g in self.gaps.values())

    def watch(self, running: frozenset[str] | None) -> None:
        """Record the transactions running right after the read that found new gaps."""
        for gap in self.gaps.values():
            if gap.waiters is None and running is not None:
                gap.waiters = running

    def safe_upto(
        self, cursor: int, seqs: list[int], now: float, running: frozenset[str] | None = None
    ) -> int:
        """The highest seq up to which every change is visible or settled.

        ``seqs``: visible seqs above ``cursor`` in order; ``running``: transactions in progress
        just *before* that read (PostgreSQL), or ``None``.
        """
        upto, expected = cursor, cursor + 1
        for seq in seqs:
            while expected < seq:  # ``expected`` is missing: in flight, or rolled back
                if not self._settled(expected, now, running):
                    return self._prune(upto)
                self.gaps.pop(expected, None)
                upto, expected = expected, expected + 1
            upto, expected = seq, seq + 1
        return self._prune(upto)

    def _settled(self, seq: int, now: float, running: frozenset[str] | None) -> bool:
        gap = self.gaps.setdefault(seq, Gap(now))
        if now - gap.first_seen >= self.timeout:
            return True
        return gap.waiters is not None and running is not None and not (gap.waiters & running)

    def _prune(self, upto: int) -> int:
        for seq in [s for s in self.gaps if s <= upto]:
            del self.gaps[seq]
        return upto


__all__ = ["Gap", "GapTracker", "in_progress"]
