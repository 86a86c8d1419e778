"""Calendar wire models (pydantic)."""
