"""Calendar REST handlers."""

routes: list = []
