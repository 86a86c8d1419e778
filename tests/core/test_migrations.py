"""Alembic migrations are the schema: they match every ORM model, on SQLite and PostgreSQL.

Every ``jupyter_astro_ops.*.models`` module is imported, so a domain that adds a model without
a matching migration (or the reverse) fails here.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

import jupyter_astro_ops
from jupyter_astro_ops.core import migrate
from jupyter_astro_ops.core.db import Base, unpooled_engine


def _import_all_models() -> list[str]:
    found = []
    for info in pkgutil.walk_packages(jupyter_astro_ops.__path__, "jupyter_astro_ops."):
        if info.name.endswith(".models"):
            importlib.import_module(info.name)
            found.append(info.name)
    return found


def _differences(url: str) -> list:
    engine = unpooled_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def test_models_are_discovered():
    assert "jupyter_astro_ops.activity.models" in _import_all_models()
    assert "activity_events" in Base.metadata.tables


def test_each_domain_has_its_own_branch():
    script = ScriptDirectory.from_config(migrate.alembic_config())
    for rev in script.walk_revisions():
        name = Path(rev.path).name
        assert name.startswith(rev.revision + "_"), f"{name}: revision id {rev.revision!r}"
        if rev.down_revision is None:  # a domain's first revision starts its own branch
            assert rev.branch_labels == {name.split("_")[0]}, name


def test_upgraded_database_reports_up_to_date(db_url: str):
    # A domain that depends_on another collapses heads in alembic_version (calendar_0001 alone
    # stands for activity_0001 too), so this must follow dependencies, not compare sets.
    assert migrate.is_up_to_date(db_url)


def test_migrated_schema_matches_the_models(db_url: str):
    _import_all_models()
    diff = _differences(db_url)
    assert diff == [], "models and migrations differ:\n" + "\n".join(map(repr, diff))


def test_downgrade_to_base_and_upgrade_again(db_url: str):
    _import_all_models()
    migrate.downgrade(db_url, "base")
    assert migrate.current_heads(db_url) == set()
    engine = unpooled_engine(db_url)
    try:
        left = set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()
    assert left == set()
    migrate.upgrade(db_url)
    assert migrate.current_heads(db_url)
    assert _differences(db_url) == []


def test_upgrade_is_idempotent(db_url: str):
    before = migrate.current_heads(db_url)
    migrate.upgrade(db_url)
    assert migrate.current_heads(db_url) == before


def test_db_upgrade_command_on_a_fresh_file(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/fresh.db"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    cmd = [sys.executable, "-m", "jupyter_astro_ops.cli.main"]
    up = subprocess.run([*cmd, "db", "upgrade", f"--db-url={url}"], env=env,
                        capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    assert _differences(url) == []
    cur = subprocess.run([*cmd, "db", "current", f"--db-url={url}"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert cur.returncode == 0, cur.stderr
    assert "up to date" in cur.stdout


@pytest.mark.parametrize("bad", ["sqlite:///:memory:"])
def test_memory_database_is_not_a_migration_target(bad: str):
    # Each connection of :memory: is a new empty database, so "migrated" would mean nothing.
    with pytest.raises(ValueError):
        from jupyter_astro_ops.core.db import Database

        Database(bad)
