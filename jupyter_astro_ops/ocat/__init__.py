"""Ocat: target-parameter change requests with role-enforced sign-off (after Chandra's USINT Ocat).

A POC submits a revision ``obsid.rev`` (kind ``norm``, ``asis``, ``remove`` or ``clone``)
with original and requested parameter values; the groups whose parameters changed sign their
columns, USINT verifies, and the observation is approved for scheduling. The rules live in the
service (every caller gets them) and in data files (``data/parameters.json``: parameters,
columns and when each applies; ``data/rules.json``: the value checks). Mail goes through the
shared outbox (``mail``); the POC duty rota (``rota``) says who gets reminders and escalations.
"""
