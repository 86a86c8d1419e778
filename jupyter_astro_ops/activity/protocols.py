"""What other domains may ask of the activity domain, as Protocols.

A domain is handed the activity parts it needs by the composition root and types them with
these Protocols, so it depends on what it calls, not on the classes behind it (``EventLog``,
``Projects``) and never on activity's ORM rows: event rows come back from ``record``/``find``
and go back into ``transition``/``note`` inside the caller's transaction, unopened except for
``id``, ``status`` and ``log``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from ..core.identity import User
from .models import ActivityEvent
from .states import Action, Status


class EventRecorder(Protocol):
    """Writing a domain's events inside the domain's own write transaction."""

    def register_object_type(self, name: str) -> None: ...

    def record(
        self, session: Session, user: User | str, *, action: Action | str, object_type: str,
        object_id: str | None = ..., data: dict[str, Any] | None = ...,
        status: Status | str = ..., project_id: int | None = ...,
        message: str | None = ..., event_id: str | None = ...,
    ) -> ActivityEvent: ...

    def append(
        self, session: Session, user: User | str, *, action: Action | str, object_type: str,
        object_id: str | None = ..., data: dict[str, Any] | None = ...,
        status: Status | str = ..., project_id: int | None = ...,
        message: str | None = ..., event_id: str | None = ...,
    ) -> str: ...

    def transition(
        self, session: Session, row: ActivityEvent, status: Status | str, *,
        message: str, level: str = ..., manager: str | None = ...,
        data: dict[str, Any] | None = ...,
    ) -> ActivityEvent: ...

    def note(
        self, session: Session, row: ActivityEvent, message: str | None, *,
        level: str = ..., data: dict[str, Any] | None = ...,
    ) -> ActivityEvent: ...

    def find(self, session: Session, event_id: str | None) -> ActivityEvent | None: ...

    def add_listener(self, listener: Callable[[frozenset[str]], None],
                     object_types: Iterable[str] | None = ..., *, local: bool = ...) -> None:
        """Call ``listener`` after commits of events of ``object_types`` (``local=False``:
        only other processes' commits)."""

    def remove_listener(self, listener: Callable[[frozenset[str]], None]) -> None: ...


class ProjectDirectory(Protocol):
    """Questions about projects (membership, names) for domains that attach work to them."""

    def is_member(self, session: Session, username: str, project_id: int) -> bool: ...

    def exists(self, session: Session, project_id: int) -> bool: ...

    def names(self, project_ids: set[int]) -> dict[int, tuple[str, datetime]]: ...

    def id_by_name(self, name: str) -> int: ...


__all__ = ["EventRecorder", "ProjectDirectory"]
