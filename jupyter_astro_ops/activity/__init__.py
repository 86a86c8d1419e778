"""Activity: the one event log and state machine every domain writes to (after MySlice)."""
