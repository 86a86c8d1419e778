"""A rendered iCal feed and what HTTP caching needs to serve it (framework-free)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Feed:
    """An ``.ics`` document, its ``ETag``, newest change and suggested refresh interval."""

    body: bytes
    etag: str
    last_modified: datetime | None
    filename: str
    refresh_minutes: int = 15

    @classmethod
    def of(cls, body: bytes, filename: str, last_modified: datetime | None,
           refresh_minutes: int = 15) -> Feed:
        """A feed whose ``ETag`` is a digest of ``body`` (stable until something changes)."""
        etag = f'"{hashlib.sha256(body).hexdigest()[:40]}"'
        return cls(body, etag, last_modified, filename, refresh_minutes)


__all__ = ["Feed"]
