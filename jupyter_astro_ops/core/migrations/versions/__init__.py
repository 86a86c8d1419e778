"""Alembic revision scripts, one branch per domain (file names start with the domain)."""
