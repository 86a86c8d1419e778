"""Activity fixtures: the activity parts on the parametrized database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_astro_ops.activity.worker import RequestWorker
from jupyter_astro_ops.compose import ActivityParts
from jupyter_astro_ops.core.db import Database
from jupyter_astro_ops.core.identity import User

from ..conftest import make_services

WORKER = {"RequestWorker": {"lease_seconds": 30.0, "max_attempts": 3, "new_grace_seconds": 10.0}}


@pytest.fixture
def act(db: Database) -> ActivityParts:
    return make_services(db, WORKER).activity


def new_worker(act: ActivityParts, **traits: Any) -> RequestWorker:
    """Another worker on ``act`` (as a second server process would run), same settings."""
    return RequestWorker(act.events.db, act.events, act.requests, parent=act.worker.parent,
                         **traits)


@pytest.fixture
def project(act: ActivityParts, users: dict[str, User]) -> int:
    """Project 'Deep Field' led by bob (created by admin alice)."""
    return act.projects.create_project(users["alice"], "Deep Field", "a survey", pi="bob").id


@pytest.fixture
def second_db(db_url: str) -> Iterator[Database]:
    """Another engine on the same database: stands for another process."""
    other = Database(db_url)
    yield other
    other.dispose()
