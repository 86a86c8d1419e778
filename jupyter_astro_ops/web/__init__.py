"""Tornado glue shared by every domain's handlers: base handler, error map, OpenAPI."""
