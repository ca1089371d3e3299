"""The TypedDicts of streams.records describe the records the engine really writes.

mypy checks the code against :mod:`streams.records`; this checks :mod:`streams.records`
against the changelog: every record written for every domain (awkward cases included)
has the required keys of its class and no key the class does not document.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from schemas.results import Domain
from streams.engine import PartitionEngine
from streams.records import (
    ChainRecord,
    DetectorRecord,
    DossierPartsRecord,
    DossierRecord,
    DqMinuteRecord,
    DqTotalsRecord,
    EnergyPartsRecord,
    EventIdRecord,
    MetaRecord,
    PeriodRecord,
    QrPartsRecord,
    SubjectRecord,
    TrafficPartsRecord,
    WindowRecord,
)
from tests.unit.streams import harness
from tests.unit.streams.test_kpi_reference import LATENESS_MS, LOGIC, logs, profile

pytestmark = pytest.mark.unit

CLASSES: dict[str, Any] = {
    "meta": MetaRecord,
    "id|": EventIdRecord,
    "w|": WindowRecord,
    "reg|": ChainRecord,
    "sub|": SubjectRecord,
    "dos|": DossierRecord,
    "per|": PeriodRecord,
    "det|": DetectorRecord,
    "sil|": DetectorRecord,
    "dqw|": DqMinuteRecord,
    "dq|": DqTotalsRecord,
}
PARTS: dict[Domain, Any] = {
    Domain.TRAFFIC: TrafficPartsRecord,
    Domain.ENERGY: EnergyPartsRecord,
    Domain.QR: QrPartsRecord,
    Domain.DOSSIER: DossierPartsRecord,
}


def shape(cls: Any, value: dict[str, Any]) -> list[str]:
    """Keys missing from ``value`` or not declared by ``cls``."""
    keys = set(value)
    declared = cls.__required_keys__ | cls.__optional_keys__
    return [f"missing {k!r}" for k in sorted(cls.__required_keys__ - keys)] + [
        f"undeclared {k!r}" for k in sorted(keys - declared)
    ]


def writes(domain: Domain) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every record the engine writes for the scenario, with silence state too."""
    config = harness.engine_config(profile(), LATENESS_MS)
    p = profile()
    expected = [("sensor", s.sensor_id, s.segment_id, s.period_s) for s in p.sensors] + [
        ("meter", m.meter_id, m.feeder_id, m.period_s) for m in p.meters
    ]
    for partition, log in logs(domain, 7).items():
        engine = PartitionEngine(LOGIC[domain], config, partition, expected=expected)
        for i, record in enumerate(harness.source_records(domain.value, partition, log)):
            engine.process(record)
            if i % 25 == 0:
                yield from ((k, v) for k, v in engine.drain() if v is not None)
        yield from ((k, v) for k, v in engine.drain() if v is not None)


@pytest.mark.parametrize("domain", list(Domain))
def test_every_record_written_has_the_layout_of_its_class(domain: Domain) -> None:
    seen: set[str] = set()
    problems: list[str] = []
    for key, value in writes(domain):
        prefix = next(p for p in CLASSES if key.startswith(p))
        seen.add(prefix)
        problems += [f"{key}: {p}" for p in shape(CLASSES[prefix], value)]
        if prefix in ("w|", "per|"):
            problems += [f"{key} parts: {p}" for p in shape(PARTS[domain], value["p"])]
    assert problems == []
    common = {"meta", "id|", "dq|", "dqw|", "det|"}
    own = {
        Domain.TRAFFIC: {"w|", "sil|"},
        Domain.ENERGY: {"w|", "reg|", "sil|"},
        Domain.QR: {"w|", "sub|"},
        Domain.DOSSIER: {"dos|", "per|"},
    }
    assert seen >= common | own[domain]
