"""planner: employees, entries and blocks, holidays, swaps, import runs

Revision ID: planner_0001
Revises:
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "planner_0001"
down_revision = None
branch_labels = ("planner",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "planner_employees",
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("base_camp", sa.String(128), nullable=False),
        sa.Column("primary_location", sa.String(32), nullable=False),
        sa.Column("shift_start", sa.Integer, nullable=False),
        sa.Column("shift_end", sa.Integer, nullable=False),
        sa.Column("working_days", sa.Integer, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("calendar", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("modified", TS, nullable=False),
        sa.PrimaryKeyConstraint("username", name="pk_planner_employees"),
    )
    op.create_index("ix_planner_employees_department", "planner_employees", ["department"])
    op.create_table(
        "planner_entries",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("seats", sa.Integer, nullable=False),
        sa.Column("alternate_pickup", sa.String(128), nullable=False),
        sa.Column("summit_lead", sa.String(8), nullable=False),
        sa.Column("support_lead", sa.String(8), nullable=False),
        sa.Column("crew_lead", sa.String(128), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=True),
        sa.Column("import_key", sa.String(128), nullable=True),
        sa.Column("import_digest", sa.String(64), nullable=True),
        sa.Column("entered_by", sa.String(128), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("deleted_at", TS, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("modified", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_planner_entries"),
        sa.ForeignKeyConstraint(
            ["username"], ["planner_employees.username"], ondelete="CASCADE",
            name="fk_planner_entries_username_planner_employees",
        ),
        sa.UniqueConstraint("source", "day", "import_key",
                            name="uq_planner_entries_source_day_import_key"),
    )
    op.create_index("ix_planner_entries_username_day", "planner_entries", ["username", "day"])
    op.create_index("ix_planner_entries_day", "planner_entries", ["day"])
    op.create_table(
        "planner_blocks",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("entry_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("location", sa.String(32), nullable=False),
        sa.Column("start", TS, nullable=False),
        sa.Column("end", TS, nullable=False),
        sa.Column("local_start", sa.Integer, nullable=False),
        sa.Column("local_end", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_planner_blocks"),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["planner_entries.id"], ondelete="CASCADE",
            name="fk_planner_blocks_entry_id_planner_entries",
        ),
        sa.UniqueConstraint("entry_id", "position", name="uq_planner_blocks_entry_id_position"),
    )
    op.create_table(
        "planner_holidays",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("calendar", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_planner_holidays"),
        sa.UniqueConstraint("calendar", "day", name="uq_planner_holidays_calendar_day"),
    )
    op.create_table(
        "planner_swaps",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("requester", sa.String(128), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("entry_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("block", sa.JSON, nullable=False),
        sa.Column("in_return_entry_id", sa.String(32), nullable=True),
        sa.Column("in_return_position", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("needs_approval", sa.Boolean, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("modified", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_planner_swaps"),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["planner_entries.id"], ondelete="CASCADE",
            name="fk_planner_swaps_entry_id_planner_entries",
        ),
        sa.ForeignKeyConstraint(
            ["in_return_entry_id"], ["planner_entries.id"], ondelete="CASCADE",
            name="fk_planner_swaps_in_return_entry_id_planner_entries",
        ),
    )
    op.create_index("ix_planner_swaps_requester", "planner_swaps", ["requester"])
    op.create_index("ix_planner_swaps_target", "planner_swaps", ["target"])
    op.create_table(
        "planner_import_runs",
        sa.Column("name", sa.String(16), nullable=False),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("ran_at", TS, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_planner_import_runs"),
    )


def downgrade() -> None:
    op.drop_table("planner_import_runs")
    op.drop_table("planner_swaps")
    op.drop_table("planner_holidays")
    op.drop_table("planner_blocks")
    op.drop_table("planner_entries")
    op.drop_table("planner_employees")
