"""ocat: observations, revisions (unique obsid+rev), sign-offs, POC rota, catalog imports

Revision ID: ocat_0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "ocat_0001"
down_revision = None
branch_labels = ("ocat",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ocat_observations",
        sa.Column("obsid", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("seq_nbr", sa.String(16), nullable=False),
        sa.Column("target_name", sa.String(256), nullable=False),
        sa.Column("instrument", sa.String(16), nullable=False),
        sa.Column("grating", sa.String(16), nullable=False),
        sa.Column("obs_type", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("poc", sa.String(128), nullable=True),
        sa.Column("planned_date", TS, nullable=True),
        sa.Column("ra", sa.Float, nullable=True),
        sa.Column("dec", sa.Float, nullable=True),
        sa.Column("roll", sa.Float, nullable=True),
        sa.Column("or_list", sa.Boolean, nullable=False),
        sa.Column("values", sa.JSON, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("last_rev", sa.Integer, nullable=False),
        sa.Column("updated", TS, nullable=False),
        sa.PrimaryKeyConstraint("obsid", name="pk_ocat_observations"),
    )
    op.create_index("ix_ocat_observations_status", "ocat_observations", ["status"])
    op.create_index("ix_ocat_observations_poc", "ocat_observations", ["poc"])
    op.create_table(
        "ocat_revisions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("obsid", sa.Integer, nullable=False),
        sa.Column("rev", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("submitter", sa.String(128), nullable=False),
        sa.Column("submitted", TS, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("original", sa.JSON, nullable=False),
        sa.Column("requested", sa.JSON, nullable=False),
        sa.Column("flags", sa.JSON, nullable=False),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("superseded_by", sa.Integer, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ocat_revisions"),
        sa.ForeignKeyConstraint(["obsid"], ["ocat_observations.obsid"],
                                name="fk_ocat_revisions_obsid_ocat_observations"),
        sa.UniqueConstraint("obsid", "rev", name="uq_ocat_revisions_obsid_rev"),
    )
    op.create_index("ix_ocat_revisions_submitter", "ocat_revisions", ["submitter"])
    op.create_index("ix_ocat_revisions_state_submitted", "ocat_revisions",
                    ["state", "submitted"])
    op.create_index("ix_ocat_revisions_closed_at", "ocat_revisions", ["closed_at"])
    op.create_table(
        "ocat_signoffs",
        sa.Column("revision_id", sa.Integer, nullable=False),
        sa.Column("column", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("signer", sa.String(128), nullable=True),
        sa.Column("signed_at", TS, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("pending_since", TS, nullable=True),
        sa.PrimaryKeyConstraint("revision_id", "column", name="pk_ocat_signoffs"),
        sa.ForeignKeyConstraint(["revision_id"], ["ocat_revisions.id"],
                                name="fk_ocat_signoffs_revision_id_ocat_revisions"),
    )
    op.create_index("ix_ocat_signoffs_column_status", "ocat_signoffs", ["column", "status"])
    op.create_table(
        "ocat_rota",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("end", sa.Date, nullable=False),
        sa.Column("poc", sa.String(128), nullable=True),
        sa.Column("assigned_by", sa.String(128), nullable=True),
        sa.Column("locked", sa.Boolean, nullable=False),
        sa.Column("modified", TS, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ocat_rota"),
        sa.UniqueConstraint("start", name="uq_ocat_rota_start"),
    )
    op.create_table(
        "ocat_imports",
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("observations", sa.Integer, nullable=False),
        sa.Column("imported_at", TS, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("source", name="pk_ocat_imports"),
    )


def downgrade() -> None:
    op.drop_table("ocat_imports")
    op.drop_table("ocat_rota")
    op.drop_table("ocat_signoffs")
    op.drop_table("ocat_revisions")
    op.drop_table("ocat_observations")
