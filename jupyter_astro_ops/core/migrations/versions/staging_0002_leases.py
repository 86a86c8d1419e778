"""staging: job leases (claimed_by, lease_until) for several runners on one database

Revision ID: staging_0002
Revises: staging_0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "staging_0002"
down_revision = "staging_0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("staging_jobs") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(128), nullable=True))
        batch.add_column(sa.Column("lease_until", TS, nullable=True))
        batch.create_index("ix_staging_jobs_status_lease", ["status", "lease_until"])


def downgrade() -> None:
    with op.batch_alter_table("staging_jobs") as batch:
        batch.drop_index("ix_staging_jobs_status_lease")
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
