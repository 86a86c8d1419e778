"""Alembic migrations of the whole schema, one branch per domain (``upgrade heads``)."""
