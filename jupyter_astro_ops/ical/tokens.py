"""Per-user iCal feed tokens: what lets Thunderbird, Google or Outlook read an iCal feed.

A calendar client cannot log in to Jupyter, and a Jupyter token must never end up in a calendar
URL (it would grant the whole server). Each user may instead hold one *feed token*: a random
``secrets.token_urlsafe(32)`` shown once when created; only its SHA-256 is stored. The token
grants read access to the iCal feeds (of every domain) and nothing else; rotating replaces
it, revoking deletes it.

Framework-free: takes the acting ``User`` and the ``Database``; ``ical.handlers`` reads it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select

from ..core.db import Database
from ..core.identity import RoleMap, User
from ..core.timeutil import utcnow
from .models import ICalToken
from .schemas import FeedTokenStatus

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128


def hash_token(token: str) -> str:
    """The stored form of a feed token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ICalTokens:
    """Create, rotate, revoke and verify feed tokens."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def issue(self, user: User) -> tuple[str, datetime]:
        """Create (or rotate) ``user``'s token; returns the secret and its creation time."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = utcnow()
        with self.db.write() as session:
            row = session.get(ICalToken, user.username)
            if row is None:
                row = ICalToken(username=user.username)
                session.add(row)
            row.token_hash = hash_token(token)
            row.display_name = user.display_name
            row.groups = sorted(user.groups)
            row.created = now
        return token, now

    def status(self, user: User) -> FeedTokenStatus:
        """Whether ``user`` holds a token, and since when."""
        with self.db.read() as session:
            row = session.get(ICalToken, user.username)
            if row is None:
                return FeedTokenStatus(active=False)
            return FeedTokenStatus(active=True, created=row.created)

    def revoke(self, user: User) -> bool:
        """Delete ``user``'s token; ``False`` if there was none (revoking is idempotent)."""
        with self.db.write() as session:
            row = session.get(ICalToken, user.username)
            if row is None:
                return False
            session.delete(row)
            return True

    def resolve(self, token: str, roles: RoleMap) -> User | None:
        """The user a token belongs to (roles resolved now), or ``None`` if it is not valid."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        digest = hash_token(token)
        with self.db.read() as session:
            row = session.scalars(select(ICalToken).where(ICalToken.token_hash == digest)).first()
            if row is None or not hmac.compare_digest(row.token_hash, digest):
                return None
            return roles.resolve(row.username, row.display_name, row.groups or ())


__all__ = ["ICalTokens", "hash_token"]
