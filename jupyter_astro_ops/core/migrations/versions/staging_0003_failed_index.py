"""staging: index only the failed files of a job, not every file by state

Revision ID: staging_0003
Revises: staging_0002
Create Date: 2026-12-07

The job log lists a job's failed files; every other query reads a job's files by primary
key. A partial index keeps that listing indexed while a planned file's insert and its
progress update no longer write a second index entry.
"""

import sqlalchemy as sa
from alembic import op

revision = "staging_0003"
down_revision = "staging_0002"
branch_labels = None
depends_on = None

FAILED = sa.text("state = 'failed'")


def upgrade() -> None:
    op.drop_index("ix_staging_files_job_id_state", table_name="staging_files")
    op.create_index("ix_staging_files_failed", "staging_files", ["job_id", "seq"],
                    sqlite_where=FAILED, postgresql_where=FAILED)


def downgrade() -> None:
    op.drop_index("ix_staging_files_failed", table_name="staging_files")
    op.create_index("ix_staging_files_job_id_state", "staging_files", ["job_id", "state"])
