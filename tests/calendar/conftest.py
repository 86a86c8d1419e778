"""Calendar fixtures: the parts on the ``db`` fixture (SQLite and PostgreSQL), sites, a project."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from jupyter_astro_ops.activity.models import Project, ProjectMember
from jupyter_astro_ops.calendar.schemas import ReservationIn
from jupyter_astro_ops.calendar.service import CalendarService
from jupyter_astro_ops.compose import Services
from jupyter_astro_ops.core.db import Database

from ..conftest import make_services

SITES = {"saf": {"name": "Santa Fe", "timezone": "America/Denver"},
         "mrc": {"name": "Mountain Ranch Camp", "timezone": "America/Los_Angeles"}}
T0 = datetime(2030, 1, 1, tzinfo=timezone.utc)


def at(hours: float) -> datetime:
    """``T0`` plus ``hours``: keeps tests readable and far in the future."""
    return T0 + timedelta(hours=hours)


def iso(hours: float) -> str:
    return at(hours).isoformat().replace("+00:00", "Z")


@pytest.fixture
def services(db: Database) -> Services:
    """Every part on ``db``, as the composition root builds them, with the test sites."""
    return make_services(db, {"CalendarService": {"sites": SITES}})


@pytest.fixture
def cal(services: Services) -> CalendarService:
    return services.calendar.service


@pytest.fixture
def project(db: Database) -> int:
    """Project ``m31`` with bob as a member (carol and dave are not)."""
    with db.write() as session:
        row = Project(name="m31", description="", created_by="bob", created=T0)
        session.add(row)
        session.flush()
        session.add(ProjectMember(project_id=row.id, username="bob", role="pi", added=T0))
        return row.id


@pytest.fixture
def book(cal: CalendarService, users: dict[str, Any]) -> Callable[..., Any]:
    def _book(user: str, start: float, end: float, site: str = "saf", **kw: Any) -> Any:
        spec = ReservationIn(site=site, start=at(start), end=at(end), **kw)
        return cal.create(users[user], spec)
    return _book


@pytest.fixture
def astro_config(tmp_path: Any) -> dict[str, Any]:
    return {"CalendarService": {"sites": SITES}}
