"""A live server for the fuzzers: real users, staging roots (one writable), sites, on SQLite
and on PostgreSQL. Module-scoped: one server per database for all the fuzzing of a module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import ROLES, USERS
from ..live import LiveServer

SITES = {"saf": {"name": "Santa Fe", "timezone": "America/Denver"},
         "mrc": {"name": "Mountain Ranch Camp", "timezone": "America/Los_Angeles"}}


def _storage(root: Path) -> dict[str, Any]:
    archive, scratch = root / "archive", root / "scratch"
    (archive / "night1" / "calib").mkdir(parents=True)
    (archive / "night1" / "frame001.fits").write_bytes(b"SIMPLE  =  T" + bytes(range(256)) * 8)
    (archive / "night1" / "calib" / "bias.fits").write_bytes(b"\x00\xff" * 512)
    (archive / "notes.txt").write_text("seeing 0.8\n")
    scratch.mkdir()
    return {"archive": {"url": archive.as_uri(), "description": "raw frames"},
            "scratch": {"url": scratch.as_uri(), "writable": True}}


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        db_url = f"sqlite:///{root}/astro.db"
    else:
        cluster = request.getfixturevalue("pg_cluster")
        if cluster is None:
            pytest.skip("PostgreSQL not available")
        db_url = cluster.url(cluster.create_database(template=cluster.template))
    server = LiveServer(root, USERS, ROLES, db_url, config={
        "StagingService": {"roots": _storage(root)},
        "CalendarService": {"sites": SITES},
    })
    server.start()
    try:
        yield server
    finally:
        server.stop()
