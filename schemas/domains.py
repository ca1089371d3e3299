"""The four event domains as contracts: each one's event model and source topic, once.

Connectors validate and route by it, the sink stores by it, the workers read by it
(``streams.domains`` adds the processing side: KPI logic and the profile's entities).
The event model names its own Kafka key (``KEY_FIELD``) and event time (``TIME_FIELD``).
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.base import Event
from schemas.events import DossierStatusChange, EnergyReading, QrScan, TrafficObservation
from schemas.results import Domain
from schemas.topics import DOSSIER_STATUS, ENERGY_READINGS, QR_SCANS, TRAFFIC_OBS


@dataclass(frozen=True, slots=True)
class DomainContract:
    """One event stream: its domain, its contract and the topic it is written to."""

    domain: Domain
    model: type[Event]
    topic: str

    @property
    def name(self) -> str:
        """The short name clients use (``/v1/events/<name>``, ``--stream``)."""
        return self.domain.value


CONTRACTS: dict[Domain, DomainContract] = {
    c.domain: c
    for c in (
        DomainContract(Domain.TRAFFIC, TrafficObservation, TRAFFIC_OBS),
        DomainContract(Domain.ENERGY, EnergyReading, ENERGY_READINGS),
        DomainContract(Domain.QR, QrScan, QR_SCANS),
        DomainContract(Domain.DOSSIER, DossierStatusChange, DOSSIER_STATUS),
    )
}
BY_TOPIC: dict[str, DomainContract] = {c.topic: c for c in CONTRACTS.values()}
"""Contracts by their source topic's base name (no suffix)."""
