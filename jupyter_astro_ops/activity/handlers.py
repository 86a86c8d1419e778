"""Activity REST handlers."""

routes: list = []
