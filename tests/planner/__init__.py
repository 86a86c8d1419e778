"""Planner tests."""
