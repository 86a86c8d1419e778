"""Swaps: a person asks another to take one of their duty blocks (optionally one comes back).

The decision path is an activity request (``REQ`` event of type ``PLANNER_SWAP``, status
``PENDING``), so it shows in the activity log with everyone's messages:

* the asked person **accepts** or **declines** (``DENIED``); nobody accepts their own request;
* with ``c.PlannerService.swaps_need_approval`` an accepted swap waits for a planner admin to
  **approve** or **deny** it (not the admin who asked for it);
* the asker may **withdraw** while it is open (``DENIED``);
* when approved, both rows change in ONE transaction through the entry write path: the block
  leaves the asker's entry (deleted if it was the last block) and joins the other person's hand
  entry of that day, after the same count and overlap checks as any write (409 naming the
  clash); a block changed since the request is a 409 too. The event becomes ``APPROVED`` in
  that same transaction. An imported block that moved counts as changed by hand, so the next
  import of the night table leaves it where the swap put it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from traitlets.config import LoggingConfigurable

from ..activity.protocols import EventRecorder
from ..core.db import Database
from ..core.errors import Conflict, Forbidden, NotFound, ValidationError
from ..core.identity import User
from ..core.timeutil import isoformat, utcnow
from ..core.timeutil import parse_instant as instant
from . import queries as q
from . import rules
from .locations import LocationType
from .models import Employee, Entry, Swap
from .rules import PLANNER_ADMIN, Span
from .schemas import SwapDecisionIn, SwapIn, SwapOut
from .writes import HAND, EntryWriter, NewEntry, blocks_of, spans_of_rows, transaction

OBJECT_TYPE = "PLANNER_SWAP"
OPEN = ("asked", "accepted")


class SwapTarget(Protocol):
    """What swaps need of the planner service."""

    types: dict[str, LocationType]
    max_blocks_per_day: int
    swaps_need_approval: bool

    def employee_row(self, session: Session, username: str, lock: bool = ...) -> Employee: ...


class PlannerSwaps(LoggingConfigurable):
    """Ask, decide and carry out swaps of duty blocks."""

    def __init__(self, db: Database, events: EventRecorder, planner: SwapTarget,
                 writer: EntryWriter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db = db
        self.events = events
        self.planner = planner
        self.writer = writer
        events.register_object_type(OBJECT_TYPE)

    # -- asking and reading --------------------------------------------------------------------
    def ask(self, user: User, spec: SwapIn, when: datetime | None = None) -> SwapOut:
        """Ask ``spec.to_user`` to take a duty block of one of your entries."""
        now = when or utcnow()
        with transaction(self.db) as session:
            entry = self._entry(session, spec.entry_id)
            if entry.username != user.username:
                raise Forbidden(f"{user.username} may only offer their own blocks "
                                f"(entry {entry.id} is {entry.username}'s)")
            if spec.to_user == user.username:
                raise ValidationError("a swap is with someone else")
            target = self.planner.employee_row(session, spec.to_user)
            if not target.active:
                raise ValidationError(f"{spec.to_user} is not an active employee")
            block = self._block(session, entry, spec.position)
            if self._kind(block.location) != "duty":
                raise ValidationError(f"only duty blocks can be swapped ({block.location} is "
                                      f"a {self._kind(block.location)})")
            if spec.in_return_entry_id is not None:
                back = self._entry(session, spec.in_return_entry_id)
                if back.username != spec.to_user:
                    raise ValidationError(f"entry {back.id} is not {spec.to_user}'s")
                self._block(session, back, spec.in_return_position)
            row = Swap(id=uuid.uuid4().hex, requester=user.username, target=spec.to_user,
                       entry_id=entry.id, position=spec.position,
                       block={"location": block.location, "start": isoformat(block.start),
                              "end": isoformat(block.end)},
                       in_return_entry_id=spec.in_return_entry_id,
                       in_return_position=spec.in_return_position, state="asked",
                       needs_approval=self.planner.swaps_need_approval, message=spec.message,
                       created=now, modified=now, event_id="")
            event = self.events.record(
                session, user, action="REQ", object_type=OBJECT_TYPE, object_id=row.id,
                status="PENDING", data=self._data(row, entry.day),
                message=f"{user.username} asks {spec.to_user} to take {block.location} on "
                        f"{entry.day.isoformat()}" + (f": {spec.message}" if spec.message
                                                      else ""))
            row.event_id = event.id
            session.add(row)
            session.flush()
            return self._out(session, row)

    def list_swaps(self, user: User, everyone: bool = False,
                   open_only: bool = False) -> list[SwapOut]:
        """Swaps asked by or of ``user`` (``everyone``: all of them, for planner admins)."""
        stmt = select(Swap)
        if everyone:
            user.require_role(PLANNER_ADMIN, "list everyone's swaps")
        else:
            stmt = stmt.where(or_(Swap.requester == user.username, Swap.target == user.username))
        if open_only:
            stmt = stmt.where(Swap.state.in_(OPEN))
        with self.db.read() as session:
            return [self._out(session, r) for r in
                    session.scalars(stmt.order_by(Swap.created.desc(), Swap.id))]

    def get_swap(self, user: User, swap_id: str) -> SwapOut:
        with self.db.read() as session:
            row = self._visible(session, user, swap_id)
            return self._out(session, row)

    # -- deciding ------------------------------------------------------------------------------
    def decide(self, user: User, swap_id: str, spec: SwapDecisionIn,
               when: datetime | None = None) -> SwapOut:
        """Accept / decline (the asked person), approve / deny (a planner admin), withdraw
        (the asker); approval carries the swap out in the same transaction."""
        now = when or utcnow()
        with transaction(self.db) as session:
            row = self._visible(session, user, swap_id)
            if row.state not in OPEN:
                raise Conflict(f"swap {row.id} is already {row.state}")
            event = self.events.find(session, row.event_id)
            if event is None:
                raise Conflict(f"swap {row.id} has lost its activity event")
            note = f": {spec.message}" if spec.message else ""
            verdict = self._verdict(user, row, spec.decision)
            if verdict == "accepted":
                self.events.note(session, event, f"accepted by {user.username}{note}; waiting "
                                 f"for a {PLANNER_ADMIN}")
            elif verdict == "approved":
                self._carry_out(session, user, row, now)
                self.events.transition(session, event, "APPROVED", manager=user.username,
                                       message=f"{spec.decision}ed by {user.username}{note}; "
                                               "both rows changed")
            else:
                self.events.transition(session, event, "DENIED", manager=user.username,
                                       message=f"{verdict} by {user.username}{note}")
            row.state, row.decided_by, row.modified = verdict, user.username, now
            session.flush()
            return self._out(session, row)

    def _verdict(self, user: User, row: Swap, decision: str) -> str:
        """The state ``decision`` leads to, or 403/409 if ``user`` may not take it now."""
        if decision in ("accept", "decline"):
            if user.username == row.requester:
                raise Forbidden("nobody can accept or decline their own swap request")
            if user.username != row.target:
                raise Forbidden(f"only {row.target} can {decision} this swap")
            if row.state != "asked":
                raise Conflict(f"swap {row.id} was already accepted")
            if decision == "decline":
                return "declined"
            return "accepted" if row.needs_approval else "approved"
        if decision == "withdraw":
            if user.username != row.requester:
                raise Forbidden(f"only {row.requester} can withdraw this swap")
            return "withdrawn"
        user.require_role(PLANNER_ADMIN, f"{decision} swaps")
        if user.username == row.requester:
            raise Forbidden("nobody can approve or deny their own swap request")
        if decision == "approve" and row.state != "accepted":
            raise Conflict(f"{row.target} has not accepted swap {row.id} yet")
        return "approved" if decision == "approve" else "denied"

    def _carry_out(self, session: Session, user: User, row: Swap, now: datetime) -> None:
        """Move the block (and the one in return): every check, then both rows, at once."""
        for name in sorted({row.requester, row.target}):
            self.planner.employee_row(session, name, lock=True)
        entry = self._entry(session, row.entry_id)
        moving = self._block(session, entry, row.position)
        if (moving.location, isoformat(moving.start), isoformat(moving.end)) != (
                row.block["location"], row.block["start"], row.block["end"]):
            raise Conflict(f"{row.requester}'s block changed since the swap was asked")
        moves = [(entry, moving, row.target)]
        if row.in_return_entry_id is not None:
            back = self._entry(session, row.in_return_entry_id)
            moves.append((back, self._block(session, back, row.in_return_position),
                          row.requester))
        for source, span, _to in moves:
            kept = [s for s in spans_of_rows(source, blocks_of(session, source.id))
                    if (s.start, s.location) != (span.start, span.location)]
            why = f"swap {row.id}"
            if kept:
                self.writer.change(session, user, source, {"origin": HAND}, kept, now, why)
            else:
                self.writer.delete(session, user, source, now, {"origin": HAND}, why)
        for source, span, to in moves:
            self._give(session, user, to, source.day, span, row, now)

    def _give(self, session: Session, user: User, username: str, day: date, span: Span,
              row: Swap, now: datetime) -> None:
        emp = self.planner.employee_row(session, username)
        others = q.person_spans(session, username, day - timedelta(days=1),
                                day + timedelta(days=1))
        new = Span(span.location, span.start, span.end, day=day, zone=emp.timezone)
        rules.check_count(day, [new], others, self.planner.max_blocks_per_day)
        rules.check_overlaps([new], others)
        mine = q.hand_entries(session, username, [day]).get(day)
        why = f"swap {row.id}"
        if mine is None:
            self.writer.insert(session, user, NewEntry(
                username=username, day=day, timezone=emp.timezone, spans=[new],
                entered_by=user.username, note=f"swap from {row.requester}"), now)
        else:
            current = spans_of_rows(mine, blocks_of(session, mine.id))
            self.writer.change(session, user, mine, {}, [*current, new], now, why)

    # -- helpers -------------------------------------------------------------------------------
    def _visible(self, session: Session, user: User, swap_id: str) -> Swap:
        row = session.get(Swap, swap_id)
        if row is None or (user.username not in (row.requester, row.target)
                           and not user.has_role(PLANNER_ADMIN)):
            raise NotFound(f"no swap {swap_id}")
        return row

    def _entry(self, session: Session, entry_id: str) -> Entry:
        row = session.get(Entry, entry_id)
        if row is None or row.deleted:
            raise Conflict(f"entry {entry_id} no longer exists")
        return row

    def _block(self, session: Session, entry: Entry, position: int) -> Span:
        spans = spans_of_rows(entry, blocks_of(session, entry.id))
        if position >= len(spans):
            raise ValidationError(f"entry {entry.id} has {len(spans)} block(s); there is no "
                                  f"block {position}")
        return spans[position]

    def _kind(self, code: str) -> str:
        kind = self.planner.types.get(code)
        return kind.kind if kind is not None else "unknown location"

    def _data(self, row: Swap, day: date) -> dict[str, Any]:
        return {"requester": row.requester, "target": row.target, "entry_id": row.entry_id,
                "day": day.isoformat(), "block": row.block,
                "in_return_entry_id": row.in_return_entry_id,
                "needs_approval": row.needs_approval}

    def _out(self, session: Session, row: Swap) -> SwapOut:
        entry = session.get(Entry, row.entry_id)
        zone = entry.timezone if entry is not None else "UTC"
        block = q.block_out(row.block["location"], instant(row.block["start"]),
                            instant(row.block["end"]), zone) if row.block else None
        event = self.events.find(session, row.event_id)
        return SwapOut(id=row.id, event_id=row.event_id, requester=row.requester,
                       target=row.target, entry_id=row.entry_id, position=row.position,
                       day=entry.day if entry is not None else date.min, block=block,
                       in_return_entry_id=row.in_return_entry_id,
                       in_return_position=row.in_return_position,
                       state=row.state,  # type: ignore[arg-type]
                       status=event.status if event is not None else "?",
                       needs_approval=row.needs_approval, message=row.message,
                       decided_by=row.decided_by, created=row.created, modified=row.modified)


__all__ = ["OBJECT_TYPE", "PlannerSwaps", "SwapTarget"]
