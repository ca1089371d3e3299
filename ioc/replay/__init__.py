"""Replay tooling for engineers (DESIGN.md, "Replay"): reset a group, copy a range, rebuild.

Every verb follows ``kafka-consumer-groups``: it computes a plan first, ``--dry-run``
prints it, ``--execute`` carries it out. The plans are plain data, so the unit tests
check them without a broker.
"""
