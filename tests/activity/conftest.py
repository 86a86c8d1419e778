"""Activity fixtures: a service on the parametrized database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jupyter_astro_ops.activity.service import ActivityService
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.identity import User


@pytest.fixture
def act(db: Database) -> ActivityService:
    return ActivityService(db=db, lease_seconds=30.0, max_attempts=3, new_grace_seconds=10.0)


@pytest.fixture
def project(act: ActivityService, users: dict[str, User]) -> int:
    """Project 'Deep Field' led by bob (created by admin alice)."""
    return act.create_project(users["alice"], "Deep Field", "a survey", pi="bob").id


@pytest.fixture
def second_db(db_url: str) -> Iterator[Database]:
    """Another engine on the same database: stands for another process."""
    other = Database(db_url)
    yield other
    other.dispose()
