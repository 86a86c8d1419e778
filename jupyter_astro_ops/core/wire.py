"""Bounded wire types shared by every domain's pydantic schemas (the input policy, once).

Every value that crosses the wire has a bound, so bad input is a clear 400 naming the field and
never reaches the database (where it would be a 500):

* **strings** (``Name``, ``Title``, ``Note``, or ``Annotated[str, Field(max_length=n),
  STORABLE]``): valid Unicode (no lone surrogates), no NUL, bounded length;
* **days** (``Day``): an ISO ``YYYY-MM-DD`` string (never a number: lax parsing would take
  ``0`` as 1970-01-01) in the same years;
* **instants** (``Instant``): timezone-aware, written with a year from 1900 to 2199 (in its own
  offset: wide enough for archives and schedules, far from the ends where converting an offset
  to UTC overflows; the JSON schema says so with a pattern), returned in UTC;
* **flags** (``Flag``): ``true`` or ``false`` only (lax parsing would take ``0`` or ``"no"``);
* **integers**: ``Id`` (a database id: 1 .. 2**31 - 1), ``Count`` (0 .. 2**31 - 1), ``Cursor``
  (a feed cursor: 0 .. 2**53, exact in JavaScript too).

Framework-free (pydantic only), so the Python client can import the schemas that use it.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, Strict, WithJsonSchema

from .timeutil import FIRST_YEAR, LAST_YEAR

INSTANT_PATTERN = r"^(19|20|21)[0-9]{2}-"  # the year range, as a JSON-schema string pattern
DAY_PATTERN = r"^(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}$"
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
    """An aware instant written with a year in ``FIRST_YEAR..LAST_YEAR``, converted to UTC."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be in the years {FIRST_YEAR}..{LAST_YEAR}")
    return value.astimezone(timezone.utc)


def check_day(value: date) -> date:
    """A calendar day with a year in ``FIRST_YEAR..LAST_YEAR``."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be in the years {FIRST_YEAR}..{LAST_YEAR}")
    return value


def _iso_day(value: object) -> object:
    """Days are ``YYYY-MM-DD`` strings (or dates from Python callers), never numbers."""
    if isinstance(value, datetime) or (isinstance(value, str) and len(value.strip()) != 10):
        raise ValueError("must be a date written YYYY-MM-DD")
    if isinstance(value, bool | int | float):
        raise ValueError("must be a date written YYYY-MM-DD, not a number")
    return value


def _iso_or_datetime(value: object) -> object:
    """Instants are ISO 8601 strings (or datetimes from Python callers), never numbers: lax
    parsing would take ``0.5`` as a Unix time."""
    if isinstance(value, bool | int | float) or (
            isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()):
        raise ValueError("must be an ISO 8601 date-time with a time zone, not a number")
    return value


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
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_or_datetime), AfterValidator(check_instant),
                    WithJsonSchema({"type": "string", "format": "date-time",
                                    "pattern": INSTANT_PATTERN})]
Flag = Annotated[bool, Strict()]  # body fields; query flags stay lax (?all=true is a string)
Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(check_day),
                WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN})]
# (annotated-types bounds, then the digit guard: in this order the JSON schema shows
# minimum/maximum, and the guard still runs before the string is parsed)
Id = Annotated[int, Ge(1), Le(INT32_MAX), BeforeValidator(_no_huge_digits)]
Count = Annotated[int, Ge(0), Le(INT32_MAX), BeforeValidator(_no_huge_digits)]
Cursor = Annotated[int, Ge(0), Le(CURSOR_MAX), BeforeValidator(_no_huge_digits)]

__all__ = ["CURSOR_MAX", "DAY_PATTERN", "FIRST_YEAR", "INSTANT_PATTERN", "INT32_MAX",
           "LAST_YEAR", "STORABLE", "Count", "Cursor", "Day", "Flag", "Id", "Instant", "Name",
           "Note", "Title", "check_day", "check_instant", "check_text"]
