"""Planner fixtures: the parts on the ``db`` fixture (SQLite and PostgreSQL), a small staff.

Dates are in 2030, far from "now"; ``MON`` is a Monday. The site zone is the default,
Pacific/Honolulu (UTC-10, no DST); ``lara`` lives in America/Los_Angeles, which has DST.
``dave`` is the planner admin (``alice`` is an admin, which implies it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from jupyter_astro_ops.activity.models import ActivityEvent
from jupyter_astro_ops.compose import PlannerParts, Services
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.identity import RoleMap, User
from jupyter_astro_ops.planner.schemas import BlockIn, EmployeeRecord, EntryIn

from ..conftest import ROLES, USERS, make_services

PLANNER_ROLES = {**ROLES, "planner_admin": ["dave"]}
MON = date(2030, 1, 7)  # a Monday
HST = ZoneInfo("Pacific/Honolulu")
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)  # "now" for imports: before every test day
STAFF: list[dict[str, Any]] = [
    {"username": "bob", "display_name": "Bob Night", "department": "Operations",
     "roles": ["night_attendant"]},
    {"username": "carol", "display_name": "Carol Assist", "department": "Operations",
     "roles": ["observing_assistant"]},
    {"username": "alice", "display_name": "Alice Astro", "department": "Science",
     "roles": ["staff_astronomer"]},
    {"username": "dave", "display_name": "Dave Lead", "department": "Engineering",
     "roles": ["summit_lead"], "primary_location": "SU"},
    {"username": "erin", "display_name": "Erin Remote", "department": "Science",
     "primary_location": "none"},
    {"username": "frank", "display_name": "Frank Tuesat", "department": "Engineering",
     "working_days": ["tue", "wed", "thu", "fri", "sat"], "shift_start": "07:00",
     "shift_end": "15:30"},
    {"username": "lara", "display_name": "Lara Mainland", "department": "Science",
     "timezone": "America/Los_Angeles", "calendar": "la"},
]


def local(day: date, hhmm: str, tz: ZoneInfo = HST) -> datetime:
    """``day`` at ``hhmm`` in ``tz`` as aware UTC."""
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=tz).astimezone(timezone.utc)


def events_count(db: Database, object_type: str | None = None) -> int:
    stmt = select(func.count()).select_from(ActivityEvent)
    if object_type is not None:
        stmt = stmt.where(ActivityEvent.object_type == object_type)
    with db.read() as session:
        return int(session.scalar(stmt) or 0)


def planner_config() -> dict[str, Any]:
    return {"PlannerHolidays": {"holidays": {"main": {"2030-01-01": "New Year's Day"}}}}


@pytest.fixture
def services(db: Database) -> Services:
    return make_services(db, planner_config())


@pytest.fixture
def parts(services: Services) -> PlannerParts:
    return services.planner


@pytest.fixture
def planner(parts: PlannerParts) -> Any:
    return parts.service


@pytest.fixture
def role_map() -> RoleMap:
    return RoleMap(PLANNER_ROLES)


@pytest.fixture
def users(role_map: RoleMap) -> dict[str, User]:
    """Everyone of ``USERS`` plus ``nobody`` (no roles, not in the directory)."""
    out = {name: role_map.resolve(name, name.title(), groups)
           for name, (_, groups) in USERS.items()}
    out["nobody"] = role_map.resolve("nobody")
    for name in ("erin", "frank", "lara"):
        out[name] = role_map.resolve(name)
    return out


@pytest.fixture
def staff(parts: PlannerParts, users: dict[str, User]) -> list[str]:
    """The staff above, written through the directory path (as a re-sync would)."""
    records = [EmployeeRecord(**item) for item in STAFF]
    result = parts.employees.apply_records(users["dave"], records)
    assert result.added and not result.problems
    return [r.username for r in records]


@pytest.fixture
def put(planner: Any, users: dict[str, User], staff: list[str]) -> Callable[..., Any]:
    """``put("bob", MON, ("HQ", "08:00", "12:00"), ..., by="dave", end=..., note=...)``."""

    def _put(who: str, day: date, *blocks: tuple[str, str, str], by: str | None = None,
             end: date | None = None, **extra: Any) -> list[Any]:
        spec = EntryIn(username=who, start_date=day, end_date=end,
                       blocks=[BlockIn(location=loc, start=s, end=e) for loc, s, e in blocks],
                       **extra)
        return planner.create_entries(users[by or who], spec)

    return _put


def week(day: date = MON) -> tuple[date, date]:
    return day, day + timedelta(days=6)


@pytest.fixture
def astro_config(tmp_path: Any) -> dict[str, Any]:
    return {"AstroOpsApp": {"db_url": f"sqlite:///{tmp_path}/server.db",
                            "roles": PLANNER_ROLES}, **planner_config()}
