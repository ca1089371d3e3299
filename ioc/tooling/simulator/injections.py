"""Injected anomalies: their kinds, fixed sizes, and where the generators look them up.

Sizes are fixed and documented (docs/simulator.md): each is near its rule threshold
and inside realistic noise, so a detector has to work for its hit. Where and when they
happen is :mod:`ioc.tooling.simulator.planner`; :class:`Schedule` indexes the plan for
the generators.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from ioc.tooling.simulator.clock import Clock


class Kind(StrEnum):
    CONGESTION = "congestion"
    OUTAGE = "outage"
    UNDERVOLTAGE = "undervoltage"
    SILENCE = "silence"
    REGISTER_RESET = "register_reset"
    QR_SURGE = "qr_surge"
    OVERDUE_SPIKE = "overdue_spike"


# --- sizes (fixed; docs/simulator.md explains each) -----------------------------------------
CONGESTION_INDEX = 0.70
"""Plateau congestion index; the rule fires above 0.6 sustained 10 min."""
CONGESTION_RAMP_MIN = 3
CONGESTION_PLATEAU_MIN = 30
CONGESTION_FLOW_FACTOR = 0.85
"""A queue discharges fewer vehicles than free flow."""
OUTAGE_MIN = 30
OUTAGE_MAX_V = 2.0
"""Meters on a dead feeder read noise between 0 and this."""
UNDERVOLTAGE_RATIO = 0.88
"""Voltage during an undervoltage, × nominal; the rule fires below 0.9 sustained 3 min."""
UNDERVOLTAGE_MIN = 8
SILENCE_PERIODS = 10
"""A silent sensor or meter skips this many periods; silence is declared after 3."""
RESET_MAX_KWH = 1.0
"""A reset register restarts between 0 and this; the rule treats < 10 kWh as a reset."""
SURGE_FACTOR = 4.0
"""× the expected in-scans; the rule fires above 3× (and ≥ 30 scans per 15 min)."""
SURGE_MIN = 45
SURGE_MIN_EXPECTED_PER_15MIN = 10.0
"""Surges are placed where 15 min normally see ≥ 10 in-scans, so 4× is ≥ 40."""
OVERDUE_DOSSIERS = 8
"""Dossiers of one agency going past due within two office hours; the rule fires at 5."""
OVERDUE_SPACING_S = 900
"""Office seconds between the due dates of the spike's dossiers."""
OVERDUE_LATE_S = 7.5 * 3600
"""Each spike dossier is finished one working day (of office time) after its due date."""

DOMAIN_OF: dict[Kind, str] = {
    Kind.CONGESTION: "traffic",
    Kind.OUTAGE: "energy",
    Kind.UNDERVOLTAGE: "energy",
    Kind.SILENCE: "traffic",  # or energy, per injection
    Kind.REGISTER_RESET: "energy",
    Kind.QR_SURGE: "qr",
    Kind.OVERDUE_SPIKE: "dossier",
}


@dataclass(frozen=True, slots=True)
class Injection:
    """One injected anomaly: what, where, when, how big, and the threshold it is sized for."""

    kind: Kind
    domain: str
    entity_kind: str
    entity_id: str
    group: str
    area_code: str
    metric: str
    start_ms: int
    end_ms: int
    size: float
    unit: str
    threshold: float
    note: str
    number: int
    """Position in the plan of its kind (keys its own random stream)."""

    def active(self, t_ms: int) -> bool:
        """Whether ``t_ms`` is inside [start, end)."""
        return self.start_ms <= t_ms < self.end_ms


def overdue_schedule(clock: Clock, start_ms: int) -> list[tuple[int, int]]:
    """(due, finished) of each dossier of an overdue spike starting at ``start_ms``."""
    out = []
    for i in range(OVERDUE_DOSSIERS):
        due = clock.add_office(start_ms, i * OVERDUE_SPACING_S)
        out.append((due, clock.add_office(due, OVERDUE_LATE_S)))
    return out


class Schedule:
    """Injections indexed by entity (and by group) for the generators' per-event lookups."""

    def __init__(self, injections: Iterable[Injection]) -> None:
        self._by: dict[tuple[Kind, str], list[Injection]] = {}
        for inj in sorted(injections, key=lambda i: i.start_ms):
            self._by.setdefault((inj.kind, inj.entity_id), []).append(inj)

    def of(self, kind: Kind, entity_id: str) -> list[Injection]:
        """Injections of a kind on an entity, by start."""
        return self._by.get((kind, entity_id), [])

    def active(self, kind: Kind, entity_id: str, t_ms: int) -> Injection | None:
        """The injection of a kind active on an entity at ``t_ms``, if any."""
        for inj in self._by.get((kind, entity_id), ()):
            if inj.start_ms <= t_ms < inj.end_ms:
                return inj
            if inj.start_ms > t_ms:
                return None
        return None
