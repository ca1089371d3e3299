"""The one exception root of the project lives on the ground floor, so every package can use it."""

from __future__ import annotations


class IocError(Exception):
    """Root of every error this project raises on purpose."""


class ContractError(IocError):
    """A payload does not satisfy an event or result contract.

    ``reason`` is a short, stable machine-readable code (used as a metric label
    and stored with dead letters); ``fields`` names every offending field.
    """

    def __init__(self, reason: str, message: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.fields = fields


class ServiceUnavailableError(IocError):
    """A service the code needs (Kafka, ClickHouse, ...) did not answer."""
