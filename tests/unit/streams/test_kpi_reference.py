"""The stream's KPIs equal an independent reference — also across crashes and replays."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from functools import cache

import pytest

from schemas.province.loading import load_profile
from schemas.province.profile import Profile
from schemas.results import Domain, KpiRecord
from streams.kpi.base import DomainLogic
from streams.kpi.dossier import DossierLogic
from streams.kpi.energy import EnergyLogic
from streams.kpi.qr import QrLogic
from streams.kpi.traffic import TrafficLogic
from tests.unit.streams import harness, reference, reference_base, reference_dossier, scenario

pytestmark = pytest.mark.unit

LATENESS_MS = 120_000
DAY = date(2026, 10, 31)  # the last day of a month: 23:59:59 and 00:00:00 part days and months
LOGIC: dict[Domain, type[DomainLogic]] = {
    Domain.TRAFFIC: TrafficLogic,
    Domain.ENERGY: EnergyLogic,
    Domain.QR: QrLogic,
    Domain.DOSSIER: DossierLogic,
}


@cache
def profile() -> Profile:
    return load_profile()


@cache
def logs(domain: Domain, seed: int) -> dict[int, list[tuple[str, object]]]:
    generated = scenario.generate(profile(), DAY, seed=seed, lateness_s=LATENESS_MS // 1000)
    by_partition = scenario.partition_logs(generated.streams[domain])
    return scenario.with_final_tick(by_partition, scenario.local(DAY + timedelta(days=3), 1, 0))


def run(domain: Domain, seed: int, crashes: int = 0) -> list[KpiRecord]:
    config = harness.engine_config(profile(), LATENESS_MS)
    results: list[KpiRecord] = []
    for partition, log in logs(domain, seed).items():
        if not log:
            continue
        records = harness.source_records(domain.value, partition, log)
        out = harness.run_partition(
            LOGIC[domain], config, records, seed=seed * 31 + partition, crashes=crashes
        )
        results += out.results
    return results


def expected(domain: Domain, seed: int) -> dict[tuple[str, str, str, int], reference_base.Expected]:
    return reference.expected_kpis(domain.value, logs(domain, seed), profile(), LATENESS_MS)


@pytest.mark.parametrize("domain", list(Domain))
@pytest.mark.parametrize("seed", [7, 8])
def test_kpis_equal_the_reference(domain: Domain, seed: int) -> None:
    results = run(domain, seed)
    problems = harness.compare(harness.latest(results), expected(domain, seed))
    assert not problems, "\n".join(problems[:30])
    assert not harness.conflicts(results)


@pytest.mark.parametrize("domain", list(Domain))
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_crashes_and_replays_change_nothing(domain: Domain, seed: int) -> None:
    # Crashes at random points: a partial changelog, results delivered or not, a
    # replay from the last commit with other batch sizes. No loss, no double count,
    # and no (key, version) pair ever carries two different contents.
    results = run(domain, seed, crashes=3)
    problems = harness.compare(harness.latest(results), expected(domain, seed))
    assert not problems, "\n".join(problems[:30])
    bad = harness.conflicts(results)
    assert not bad, "\n".join(bad[:10])


def test_scenario_has_the_awkward_cases() -> None:
    # The comparison above is only as good as what the scenario contains.
    generated = scenario.generate(profile(), DAY, seed=7)
    traffic = generated.streams[Domain.TRAFFIC]
    ids = [e.event_id for e in traffic]
    assert len(ids) > len(set(ids)), "duplicated event ids"
    times = [e.event_time for e in traffic]
    assert any(b < a for a, b in itertools.pairwise(times)), "out of order"
    dossiers = generated.streams[Domain.DOSSIER]
    stamps = {e.event_time.astimezone(scenario.LOCAL).strftime("%d %H:%M:%S") for e in dossiers}
    assert {"31 23:59:59", "01 00:00:00"} <= stamps
    for domain in (Domain.TRAFFIC, Domain.ENERGY, Domain.QR):
        for log in logs(domain, 7).values():
            ap = reference_base.applied(log, LATENESS_MS, dossier=False)
            if len(log) > 50:
                assert len(ap.events) < len(log) - 1, f"{domain}: late or duplicate events"


def test_a_watermark_jump_of_months_closes_at_most_the_last_62_days() -> None:
    """A dossier partition silent for 70 days, then a tick: the engine emits the last 62
    days of "open at end" rows per agency, the reference says the same."""
    generated = scenario.generate(profile(), DAY, seed=9, lateness_s=LATENESS_MS // 1000)
    by_partition = scenario.partition_logs(generated.streams[Domain.DOSSIER])
    far = scenario.with_final_tick(by_partition, scenario.local(DAY + timedelta(days=70), 1, 0))
    config = harness.engine_config(profile(), LATENESS_MS)
    results: list[KpiRecord] = []
    skipped: set[int] = set()
    for partition, log in far.items():
        if log:
            records = harness.source_records("dossier", partition, log)
            results += harness.run_partition(DossierLogic, config, records).results
            watermarks = reference_base.applied(log, LATENESS_MS, dossier=True).watermarks
            skipped |= reference_dossier.skipped_midnights(watermarks)
    assert len(skipped) >= 5, "the jump did not exceed the cap: the test tests nothing"
    want = reference.expected_kpis("dossier", far, profile(), LATENESS_MS)
    problems = harness.compare(harness.latest(results), want)
    assert not problems, "\n".join(problems[:30])
