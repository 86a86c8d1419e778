"""Framework-free shared kernel: errors, database, identity, time and migrations.

Nothing here imports from the rest of the package, tornado, jupyter_server or panel.
"""
