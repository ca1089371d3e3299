"""Errors of the composition root; all derive from the project's one root, IocError."""

from __future__ import annotations

from schemas.errors import IocError, ServiceUnavailableError

__all__ = ["IocError", "KafkaAclError", "MigrationError", "ServiceUnavailableError"]


class MigrationError(IocError):
    """A migration failed or an applied migration was edited after the fact."""


class KafkaAclError(IocError):
    """The brokers refused to create an ACL of the table (ioc/ops/kafka_acls.py)."""
