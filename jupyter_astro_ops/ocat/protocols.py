"""What the Ocat parts ask of their collaborators, as Protocols.

* ``MailQueue``: the shared outbox (``mail.sender.Mailer``), asked inside a write transaction;
* ``Directory``: who holds a role (the shared ``core.identity.RoleMap``);
* ``DutyRoster``: who is on POC duty now (``rota.OcatRota``);
* ``Notices``: the mail the service sends on its changes (``notify.OcatNotifier``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from ..core.identity import User
from .models import OcatObservation, OcatRevision, OcatSignoff


class MailQueue(Protocol):
    """Queue a message in the caller's transaction (``Mailer.enqueue``)."""

    def enqueue(self, session: Session, *, kind: str, to: Iterable[str], subject: str,
                body: str, html: str = ..., cc: Iterable[str] = ..., bcc: Iterable[str] = ...,
                acting: str | None = ..., dedupe_key: str | None = ...) -> bool: ...


class Directory(Protocol):
    """Who holds a role, by user name (``RoleMap.members``)."""

    def members(self, role: str) -> set[str]: ...


class DutyRoster(Protocol):
    """Who is on POC duty at an instant."""

    def duty_poc(self, session: Session, now: datetime) -> str | None: ...

    def ensure_horizon(self, now: datetime | None = ...) -> int: ...


class Notices(Protocol):
    """The mail that revisions send."""

    def submitted(self, session: Session, user: User, obs: OcatObservation, rev: OcatRevision,
                  signoffs: Sequence[OcatSignoff]) -> None: ...

    def signed(self, session: Session, user: User, obs: OcatObservation, rev: OcatRevision,
               signoffs: Sequence[OcatSignoff], column: str) -> None: ...

    def discarded(self, session: Session, user: User, obs: OcatObservation, rev: OcatRevision,
                  reason: str) -> None: ...

    def approved(self, session: Session, user: User, labels: Sequence[str],
                 pocs: Iterable[str]) -> None: ...


__all__ = ["Directory", "DutyRoster", "MailQueue", "Notices"]
