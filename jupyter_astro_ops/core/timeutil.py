"""Time helpers: every datetime in the package is timezone-aware UTC.

"Now" is always computed per call (never at import), which the Ocat original got wrong.
"""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """The current instant as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; naive datetimes are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


FIRST_YEAR, LAST_YEAR = 1900, 2199  # instants outside are refused (see core.wire.Instant)


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant (``...Z``, offsets, with or without seconds) to aware UTC.

    Raises ``ValueError`` on anything else, and for years outside ``FIRST_YEAR..LAST_YEAR``
    (where converting an offset to UTC could overflow); callers turn it into a 400.
    """
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    parsed = datetime.fromisoformat(cleaned)
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise ValueError(f"{text!r} is outside the years {FIRST_YEAR}..{LAST_YEAR}")
    return as_utc(parsed)


def isoformat(value: datetime) -> str:
    """Format an instant as ISO 8601 UTC with a ``Z`` suffix."""
    return as_utc(value).isoformat().replace("+00:00", "Z")
