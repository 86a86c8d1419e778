"""The file rows of a job cost one index write each: states go to the driver as the run keeps
them, and only failed files are indexed by state (the job log's listing uses that index)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.dialects import sqlite

from jupyter_astro_ops.staging.jobstore import _SET_FILE_STATE, FILE_STATE
from jupyter_astro_ops.staging.service import failed_files


def test_file_states_are_in_the_statements_placeholder_order():
    # any other order still works, through a per-row conversion: this keeps the fast path
    assert _SET_FILE_STATE._compiled(sqlite.dialect()).names == FILE_STATE


def test_failed_files_are_listed_by_the_partial_index(db):
    query = failed_files("job-1")
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET enable_seqscan = off"))  # an empty table: force the choice
            plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {compiled}")))
        else:
            plan = "\n".join(str(r[-1]) for r in conn.execute(
                text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_staging_files_failed" in plan, plan
