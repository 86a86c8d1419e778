"""activity: the acting person's display name on each event (user_name)

Revision ID: activity_0002
Revises: activity_0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "activity_0002"
down_revision = "activity_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("activity_events") as batch:
        batch.add_column(sa.Column("user_name", sa.String(256), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("activity_events") as batch:
        batch.drop_column("user_name")
