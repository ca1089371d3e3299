"""Errors of the composition root; all derive from the project's one root, IocError."""

from __future__ import annotations

from schemas.errors import IocError, ServiceUnavailableError

__all__ = ["IocError", "MigrationError", "ServiceUnavailableError"]


class MigrationError(IocError):
    """A migration failed or an applied migration was edited after the fact."""
