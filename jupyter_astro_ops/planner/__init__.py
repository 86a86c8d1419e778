"""People planner: where everyone is, every day (after Keck's P-Squared).

Employees come from a directory source, entries hold up to ``max_blocks_per_day`` location
blocks per person and day (stored as aware UTC with the employee's zone), defaults are
generated on read, night-operations and leave files are imported idempotently, coverage rules
report uncovered nights, and swaps of duty blocks go through activity requests.
"""
