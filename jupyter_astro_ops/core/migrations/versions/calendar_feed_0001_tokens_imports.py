"""calendar: iCal feed tokens and per-site schedule-import tracking

Revision ID: calendar_feed_0001
Revises: calendar_0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "calendar_feed_0001"
down_revision = "calendar_0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "calendar_feed_tokens",
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("groups", sa.JSON, nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.PrimaryKeyConstraint("username", name="pk_calendar_feed_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_calendar_feed_tokens_token_hash"),
    )
    op.create_table(
        "calendar_schedule_imports",
        sa.Column("site", sa.String(32), nullable=False),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("observations", sa.Integer, nullable=False),
        sa.Column("imported_at", TS, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("site", name="pk_calendar_schedule_imports"),
        sa.ForeignKeyConstraint(
            ["site"], ["calendar_sites.code"], ondelete="CASCADE",
            name="fk_calendar_schedule_imports_site_calendar_sites",
        ),
    )


def downgrade() -> None:
    op.drop_table("calendar_schedule_imports")
    op.drop_table("calendar_feed_tokens")
