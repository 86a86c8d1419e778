"""Staging REST handlers."""

routes: list = []
