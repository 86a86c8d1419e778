"""mail: the outbox (queued and sent messages, retries, dedupe keys)

Revision ID: mail_0001
Revises:
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "mail_0001"
down_revision = None
branch_labels = ("mail",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("sender", sa.String(256), nullable=False),
        sa.Column("to", sa.JSON, nullable=False),
        sa.Column("cc", sa.JSON, nullable=False),
        sa.Column("bcc", sa.JSON, nullable=False),
        sa.Column("subject", sa.String(512), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("html", sa.Text, nullable=False),
        sa.Column("message_id", sa.String(256), nullable=False),
        sa.Column("dedupe_key", sa.String(256), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt", TS, nullable=False),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_mail_outbox"),
        sa.UniqueConstraint("dedupe_key", name="uq_mail_outbox_dedupe_key"),
    )
    op.create_index("ix_mail_outbox_status_next_attempt", "mail_outbox",
                    ["status", "next_attempt"])


def downgrade() -> None:
    op.drop_table("mail_outbox")
