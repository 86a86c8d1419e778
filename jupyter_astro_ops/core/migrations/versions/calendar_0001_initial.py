"""calendar: sites and reservations (no-overlap exclusion constraint on PostgreSQL)

Revision ID: calendar_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "calendar_0001"
down_revision = None
branch_labels = ("calendar",)
depends_on = "activity_0001"

TS = sa.DateTime(timezone=True)
# btree_gist lets a GiST index combine "site WITH =" and "range WITH &&".
EXCLUSION = "ex_calendar_reservations_no_overlap"


def upgrade() -> None:
    op.create_table(
        "calendar_sites",
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("max_span_s", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_calendar_sites"),
    )
    op.create_table(
        "calendar_reservations",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("site", sa.String(32), nullable=False),
        sa.Column("start", TS, nullable=False),
        sa.Column("end", TS, nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(8), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=True),
        sa.Column("creator_id", sa.String(128), nullable=False),
        sa.Column("creator_name", sa.String(256), nullable=False),
        sa.Column("project_id", sa.Integer, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("modified", TS, nullable=False),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_calendar_reservations"),
        sa.ForeignKeyConstraint(
            ["site"], ["calendar_sites.code"], ondelete="CASCADE",
            name="fk_calendar_reservations_site_calendar_sites",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], ondelete="SET NULL",
            name="fk_calendar_reservations_project_id_projects",
        ),
        sa.UniqueConstraint(
            "site", "origin", "external_id",
            name="uq_calendar_reservations_site_origin_external_id",
        ),
    )
    op.create_index(
        "ix_calendar_reservations_site_start_end", "calendar_reservations",
        ["site", "start", "end"],
    )
    op.create_index(
        "ix_calendar_reservations_creator_id_end", "calendar_reservations",
        ["creator_id", "end"],
    )
    op.create_index(
        "ix_calendar_reservations_project_id", "calendar_reservations", ["project_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            f"ALTER TABLE calendar_reservations ADD CONSTRAINT {EXCLUSION} "
            "EXCLUDE USING gist (site WITH =, tstzrange(start, \"end\", '[)') WITH &&) "
            "WHERE (status = 'active')"
        )


def downgrade() -> None:
    op.drop_table("calendar_reservations")
    op.drop_table("calendar_sites")
