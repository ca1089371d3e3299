"""Errors of the composition root; all derive from the project's one root, IocError."""

from __future__ import annotations

from schemas.errors import IocError


class ServiceUnavailableError(IocError):
    """A service the command needs (Kafka, ClickHouse, ...) did not answer."""


class MigrationError(IocError):
    """A migration failed or an applied migration was edited after the fact."""
