"""Dossier KPIs: the definitions on hand-made lifecycles, and local days and months.

The definitions: docs/architecture.md, "Dossier definitions".
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from schemas.events import DossierStatus
from schemas.results import WindowSize
from schemas.timeutil import to_ms
from streams.engine import PartitionEngine, SourceRecord
from streams.kpi.dossier import DossierLogic
from streams.kpi.dossier_facts import Change, agency_parts, on_time_rate
from tests import factories as f
from tests.unit.streams.harness import engine_config
from tests.unit.streams.scenario import LOCAL
from tests.unit.streams.test_kpi_reference import profile

pytestmark = pytest.mark.unit


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL)  # type: ignore[misc]


def change(outbox: int, status: str, changed: datetime, *, received: datetime | None = None,
           due: datetime | None = None, online: bool = True, paid: bool = False) -> Change:  # fmt: skip
    return Change(
        outbox, DossierStatus(status), to_ms(changed),
        None if received is None else to_ms(received), None if due is None else to_ms(due),
        online, paid, False, outbox,
    )  # fmt: skip


DAY_START, DAY_END = to_ms(at(2026, 11, 2)), to_ms(at(2026, 11, 3))


def test_finished_late_open_and_excluded() -> None:
    r, due_ok, due_past = at(2026, 11, 1, 9), at(2026, 11, 5), at(2026, 11, 2, 12)
    dossiers = [
        # finished on time, paid online
        [change(1, "received", r, received=r, due=due_ok), change(2, "completed", at(2026, 11, 2, 10), received=r, due=due_ok, paid=True)],
        # finished late (after its due date)
        [change(3, "received", r, received=r, due=due_past), change(4, "result_returned", at(2026, 11, 2, 15), received=r, due=due_past)],
        # open at the end, overdue
        [change(5, "received", r, received=r, due=due_past), change(6, "processing", at(2026, 11, 2, 9), received=r, due=due_past)],
        # open at the end, not overdue
        [change(7, "received", r, received=r, due=due_ok)],
        # withdrawn during the day: excluded, neither finished nor open
        [change(8, "received", r, received=r, due=due_past), change(9, "withdrawn", at(2026, 11, 2, 11), received=r, due=due_past)],
        # completed, then result_returned the same day: finished once
        [change(10, "received", r, received=r, due=due_ok), change(11, "completed", at(2026, 11, 2, 8), received=r, due=due_ok),
         change(12, "result_returned", at(2026, 11, 2, 9), received=r, due=due_ok)],
    ]  # fmt: skip
    parts = agency_parts(dossiers, DAY_START, DAY_END, as_of_offset=10**9)
    assert parts["finished"] == 3
    assert parts["finished_late"] == 1
    assert parts["open_at_end"] == 2
    assert parts["open_late_at_end"] == 1
    assert parts["excluded"] == 1
    assert parts["paid_online"] == 1
    assert parts["received"] == 0  # all received the day before
    assert on_time_rate(parts) == pytest.approx(1 - 2 / 5)
    hours = (25 + 30 + 23) * 1.0  # received 09:00 the day before; finished 10:00, 15:00, 08:00
    assert parts["processing_hours_sum"] == pytest.approx(hours)


def test_as_of_offset_hides_changes_applied_later() -> None:
    r = at(2026, 11, 1, 9)
    dossier = [
        change(1, "received", r, received=r),
        change(2, "completed", at(2026, 11, 2, 10), received=r),
    ]
    assert agency_parts([dossier], DAY_START, DAY_END, as_of_offset=1)["open_at_end"] == 1
    assert agency_parts([dossier], DAY_START, DAY_END, as_of_offset=2)["finished"] == 1


def feed(engine: PartitionEngine, events: list, tick: datetime) -> list:  # type: ignore[type-arg]
    out = []
    for offset, event in enumerate(events):
        out += engine.process(
            SourceRecord("d", 0, offset, None, event.to_json(), to_ms(event.event_time))
        ).kpis
    out += engine.process(
        SourceRecord("d", 0, len(events), None, b"", to_ms(tick), (("ioc-control", b"tick"),))
    ).kpis
    return out


def test_midnight_at_the_end_of_a_month_lands_in_the_right_day_and_month() -> None:
    engine = PartitionEngine(DossierLogic, engine_config(profile(), 120_000), 0)
    last, first = at(2026, 10, 31, 23, 59, 59), at(2026, 11, 1, 0, 0, 0)
    events = [
        f.dossier(dossier_id="D-0", status="received", changed_at=at(2026, 10, 31, 8), received_at=at(2026, 10, 31, 8), outbox_id=1),
        f.dossier(dossier_id="D-1", status="received", changed_at=last, received_at=last, outbox_id=2),
        f.dossier(dossier_id="D-2", status="received", changed_at=first, received_at=first, outbox_id=3),
    ]  # fmt: skip
    kpis = feed(engine, events, at(2026, 11, 3, 1))
    latest = {(k.window, k.window_start.astimezone(LOCAL).date().isoformat()): k for k in kpis}
    assert latest[(WindowSize.DAY, "2026-10-31")].parts.received == 2
    assert latest[(WindowSize.DAY, "2026-11-01")].parts.received == 1
    assert latest[(WindowSize.MONTH, "2026-10-01")].parts.received == 2
    assert latest[(WindowSize.MONTH, "2026-11-01")].parts.received == 1
    assert latest[(WindowSize.DAY, "2026-11-02")].parts.open_at_end == 3  # backlog counts daily
    assert all(k.window_end - k.window_start >= timedelta(days=1) for k in kpis)
