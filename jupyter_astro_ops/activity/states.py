"""The guarded status machine of activity events.

Statuses never change by hand: services move them along these edges only, and anything else is
a ``Conflict`` (HTTP 409). ``SUCCESS``, ``WARNING``, ``ERROR`` and ``DENIED`` are final.
"""

from __future__ import annotations

from enum import Enum

from ..core.errors import Conflict


class Status(str, Enum):
    NEW = "NEW"
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    DENIED = "DENIED"
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    WARNING = "WARNING"
    ERROR = "ERROR"


class Action(str, Enum):
    ADD = "ADD"
    DEL = "DEL"
    MOD = "MOD"
    REQ = "REQ"


S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.NEW: frozenset({S.PENDING, S.WAITING, S.RUNNING, S.SUCCESS, S.ERROR}),
    S.PENDING: frozenset({S.APPROVED, S.DENIED}),
    S.APPROVED: frozenset({S.WAITING, S.RUNNING, S.ERROR}),
    # RUNNING -> WAITING is a retry after a crash or a transient failure.
    S.WAITING: frozenset({S.RUNNING, S.ERROR}),
    S.RUNNING: frozenset({S.WAITING, S.SUCCESS, S.WARNING, S.ERROR}),
    S.SUCCESS: frozenset(),
    S.WARNING: frozenset(),
    S.ERROR: frozenset(),
    S.DENIED: frozenset(),
}

FINAL: frozenset[Status] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


def check_transition(current: Status | str, target: Status | str) -> Status:
    """Return ``target`` as a ``Status`` if the edge exists, else raise ``Conflict``."""
    src, dst = Status(current), Status(target)
    if dst not in TRANSITIONS[src]:
        raise Conflict(f"illegal status transition {src.value} -> {dst.value}")
    return dst
