"""Data staging into users' working directories (after the SKAO staging service)."""
