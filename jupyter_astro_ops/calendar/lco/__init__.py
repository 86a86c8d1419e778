"""Importing the LCO observation portal's schedule into a site's calendar (after Photon Ranch).

``reader`` parses portal-shaped JSON from any fsspec URL; ``importer.LcoImporter`` applies it
through the calendar's one write path (``calendar.writes``), idempotently, once by hand (CLI,
REST) or every ``interval_seconds`` in the server.
"""
