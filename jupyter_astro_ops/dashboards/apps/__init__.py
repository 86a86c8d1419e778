"""App scripts for ``panel serve``, one per dashboard (see ``registry``).

A package so that wheels ship the scripts; ``registry`` skips ``_*.py`` files.
"""
