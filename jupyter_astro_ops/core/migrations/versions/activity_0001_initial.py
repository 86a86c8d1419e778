"""activity: events, change journal, projects and members

Revision ID: activity_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "activity_0001"
down_revision = None
branch_labels = ("activity",)
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "activity_events",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("seq", Seq, nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=True),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("project_id", sa.Integer, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("previous_status", sa.String(16), nullable=True),
        sa.Column("manager", sa.String(128), nullable=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("log", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("updated", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_activity_events"),
    )
    op.create_index("ix_activity_events_seq", "activity_events", ["seq"], unique=True)
    for col in ("object_type", "object_id", "username", "project_id", "status"):
        op.create_index(f"ix_activity_events_{col}", "activity_events", [col])
    op.create_index(
        "ix_activity_events_status_lease", "activity_events", ["status", "lease_until"]
    )
    op.create_table(
        "activity_changes",
        sa.Column("seq", Seq, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_activity_changes"),
        sa.ForeignKeyConstraint(
            ["event_id"], ["activity_events.id"], ondelete="CASCADE",
            name="fk_activity_changes_event_id_activity_events",
        ),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_projects"),
        sa.UniqueConstraint("name", name="uq_projects_name"),
    )
    op.create_table(
        "project_members",
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("added", TS, nullable=False),
        sa.PrimaryKeyConstraint("project_id", "username", name="pk_project_members"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], ondelete="CASCADE",
            name="fk_project_members_project_id_projects",
        ),
    )
    op.create_index("ix_project_members_username", "project_members", ["username"])


def downgrade() -> None:
    op.drop_table("project_members")
    op.drop_table("projects")
    op.drop_table("activity_changes")
    op.drop_table("activity_events")
