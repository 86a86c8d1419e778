"""Bounded wire types shared by every domain's pydantic schemas (the input policy, once).

Every value that crosses the wire has a bound, so bad input is a clear 400 naming the field and
never reaches the database (where it would be a 500):

* **strings** (``Name``, ``Title``, ``Note``, or ``Annotated[str, Field(max_length=n),
  STORABLE]``): valid Unicode (no lone surrogates), no NUL, bounded length;
* **instants** (``Instant``): timezone-aware, between ``EARLIEST`` and ``LATEST`` (1900 to 2200
  UTC: wide enough for archives and schedules, far from the ends where converting an offset
  to UTC overflows), returned in UTC;
* **integers**: ``Id`` (a database id: 1 .. 2**31 - 1), ``Count`` (0 .. 2**31 - 1), ``Cursor``
  (a feed cursor: 0 .. 2**53, exact in JavaScript too).

Framework-free (pydantic only), so the Python client can import the schemas that use it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)
INT32_MAX = 2**31 - 1
CURSOR_MAX = 2**53


def check_text(value: str) -> str:
    """Refuse strings a database cannot store: NUL and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode (no lone surrogates)") from exc
    return value


def check_instant(value: datetime) -> datetime:
    """An aware instant inside ``[EARLIEST, LATEST)``, converted to UTC."""
    try:
        utc = value.astimezone(timezone.utc)
    except (OverflowError, ValueError) as exc:
        raise ValueError("is outside the supported range 1900..2200 UTC") from exc
    if not EARLIEST <= utc < LATEST:
        raise ValueError("is outside the supported range 1900..2200 UTC")
    return utc


def _no_huge_digits(value: object) -> object:
    """Integers written with more digits than any bound allows are refused before parsing
    (Python refuses to convert strings of more than 4300 digits, with a ValueError)."""
    if isinstance(value, str) and len(value.strip().lstrip("+-")) > 20:
        raise ValueError("is far out of range")
    return value


STORABLE = AfterValidator(check_text)
Name = Annotated[str, Field(min_length=1, max_length=128), STORABLE]
Title = Annotated[str, Field(max_length=256), STORABLE]
Note = Annotated[str, Field(max_length=4000), STORABLE]
Instant = Annotated[AwareDatetime, AfterValidator(check_instant)]
Id = Annotated[int, BeforeValidator(_no_huge_digits), Field(ge=1, le=INT32_MAX)]
Count = Annotated[int, BeforeValidator(_no_huge_digits), Field(ge=0, le=INT32_MAX)]
Cursor = Annotated[int, BeforeValidator(_no_huge_digits), Field(ge=0, le=CURSOR_MAX)]

__all__ = ["CURSOR_MAX", "EARLIEST", "INT32_MAX", "LATEST", "STORABLE", "Count", "Cursor", "Id",
           "Instant", "Name", "Note", "Title", "check_instant", "check_text"]
