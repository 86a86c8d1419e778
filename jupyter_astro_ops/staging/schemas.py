"""Staging wire models (pydantic)."""
