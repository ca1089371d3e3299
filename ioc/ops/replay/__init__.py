"""Replay tooling for engineers: reset a group, copy a range, rebuild.

What each verb is for: docs/architecture.md, "Replay and generations".

Every verb follows ``kafka-consumer-groups``: it computes a plan first, ``--dry-run``
prints it, ``--execute`` carries it out. The plans are plain data, so the unit tests
check them without a broker.
"""
