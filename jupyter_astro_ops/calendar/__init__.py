"""Telescope reservations calendar (after LCOGT's Photon Ranch calendar)."""
