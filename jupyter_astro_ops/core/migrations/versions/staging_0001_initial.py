"""staging: jobs and their planned files

Revision ID: staging_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "staging_0001"
down_revision = None
branch_labels = ("staging",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staging_jobs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("root_dir", sa.Text, nullable=False),
        sa.Column("planned", sa.Boolean, nullable=False),
        sa.Column("files_total", sa.Integer, nullable=False),
        sa.Column("files_done", sa.Integer, nullable=False),
        sa.Column("files_skipped", sa.Integer, nullable=False),
        sa.Column("files_failed", sa.Integer, nullable=False),
        sa.Column("bytes_total", sa.BigInteger, nullable=False),
        sa.Column("bytes_done", sa.BigInteger, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("event_id", sa.String(32), nullable=True),
        sa.Column("cancel_requested_by", sa.String(128), nullable=True),
        sa.Column("created", TS, nullable=False),
        sa.Column("started", TS, nullable=True),
        sa.Column("finished", TS, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_staging_jobs"),
    )
    op.create_index("ix_staging_jobs_username", "staging_jobs", ["username"])
    op.create_index("ix_staging_jobs_status", "staging_jobs", ["status"])
    op.create_table(
        "staging_files",
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("relpath", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("checksum", sa.String(80), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("job_id", "seq", name="pk_staging_files"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["staging_jobs.id"], ondelete="CASCADE",
            name="fk_staging_files_job_id_staging_jobs",
        ),
    )
    op.create_index("ix_staging_files_job_id_state", "staging_files", ["job_id", "state"])


def downgrade() -> None:
    op.drop_table("staging_files")
    op.drop_table("staging_jobs")
