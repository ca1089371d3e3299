"""Quality smoke test: a short seeded simulation, every kind found, nothing else alerts.

The full measurement is ``make quality`` (three weeks, docs/detectors.md); this runs
the same harness on the small two-tier profile for a few simulated days, split so each
part is as short as its detectors allow: telemetry rules need no history (one day),
QR surges need a day of baseline and dossier spikes need their dossiers received in
the run and a day before them to compare with (eight days of the cheap domains).
"""

from __future__ import annotations

from datetime import date

import pytest

from ioc.tooling.quality import QualityConfig, run_quality

pytestmark = pytest.mark.unit

MONDAY = date(2026, 11, 2)
RUNS = {
    "telemetry": QualityConfig(
        profile="dong-nai-2025",
        seed=5,
        start=MONDAY,
        days=1,
        injections_per_week=40,
        domains=("traffic", "energy"),
    ),
    "people": QualityConfig(
        profile="dong-nai-2025",
        seed=5,
        start=MONDAY,
        days=8,
        injections_per_week=12,
        domains=("qr", "dossier"),
    ),
}
KINDS = {
    "telemetry": {"congestion", "outage", "undervoltage", "silence", "register_reset"},
    "people": {"qr_surge", "overdue_spike"},
}


@pytest.mark.parametrize("part", sorted(RUNS))
def test_every_kind_is_found_and_nothing_else_alerts(part: str) -> None:
    result = run_quality(RUNS[part], workers=2)
    kinds = result["report"]["kinds"]
    assert set(kinds) == KINDS[part], kinds.keys()  # no detector fired outside its kind
    for kind, k in kinds.items():
        assert k["injections"] >= 3, kind
        # Modest bounds: the first day of a short run has no baseline for QR surges,
        # and dossiers received before the run are invisible to it.
        assert k["recall"] >= 0.5, (kind, k)
        assert k["precision"] >= 0.8, (kind, k)
    assert result["report"]["overall"]["false_positives"] == 0
    assert not any(result["report"]["control_alerts"].values())
