"""The demo: a ready-to-run configuration with demo users, roles, storage and seeded data.

``jupyter astro-ops demo`` (what ``make demo`` runs before JupyterLab) writes everything under
one directory (``.demo/`` by default) and seeds the database through the services, so the demo
data obeys the same rules as real use. See ``demo.json`` for the users, projects and bookings.
"""
