"""Ground truth: what was injected, and the negative controls that must not alert.

One CSV row per injection or control (docs/simulator.md documents the columns).
Detection quality is scored against it offline: a detection is a hit when it opens on
the injected entity and metric between ``start`` and ``end`` + 15 min; anything else
is a false positive, attributed to the control whose window it falls in, if any.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from pathlib import Path

from ioc.tooling.simulator.clock import Clock, DayKind
from ioc.tooling.simulator.injections import Injection
from schemas.timeutil import from_ms

COLUMNS = (
    "record", "kind", "domain", "entity_kind", "entity_id", "group", "area_code", "metric",
    "start", "end", "size", "unit", "threshold", "note",
)  # fmt: skip
ANY = "*"

RUSH_HOURS = ((6.5, 8.5), (16.5, 18.5))
"""Weekday commuter peaks (local): congestion index highest, still below the rule."""
EVENING_PEAK = (18.0, 22.0)
"""Daily evening peak of household load (local): voltage lowest, still inside ±10 %."""


@dataclass(frozen=True, slots=True)
class TruthRow:
    record: str
    """``injection`` or ``control``."""
    kind: str
    domain: str
    entity_kind: str
    entity_id: str
    group: str
    area_code: str
    metric: str
    start_ms: int
    end_ms: int
    size: float | None = None
    unit: str = ""
    threshold: float | None = None
    note: str = ""

    def csv_row(self) -> dict[str, str]:
        """The row as CSV text; times in ISO 8601 UTC."""
        data = asdict(self)
        data.pop("start_ms")
        data.pop("end_ms")
        data["start"] = from_ms(self.start_ms).isoformat()
        data["end"] = from_ms(self.end_ms).isoformat()
        data["size"] = _number(self.size)
        data["threshold"] = _number(self.threshold)
        return {k: str(data[k]) for k in COLUMNS}


def _number(value: float | None) -> str:
    # plain decimals (no exponent), so a spreadsheet and a diff both read them
    if value is None:
        return ""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def from_injection(inj: Injection) -> TruthRow:
    """The truth row of an injection."""
    return TruthRow(
        "injection", inj.kind.value, inj.domain, inj.entity_kind, inj.entity_id, inj.group,
        inj.area_code, inj.metric, inj.start_ms, inj.end_ms, inj.size, inj.unit, inj.threshold,
        inj.note,
    )  # fmt: skip


def _control(kind: str, domain: str, metric: str, start: int, end: int, note: str) -> TruthRow:
    return TruthRow("control", kind, domain, ANY, ANY, ANY, ANY, metric, start, end, note=note)


def controls(clock: Clock, start_ms: int, end_ms: int, domains: Iterable[str]) -> list[TruthRow]:
    """Rush hours, evening peaks, weekends, Tết and holidays inside [start, end)."""
    domains = set(domains)
    rows: list[TruthRow] = []
    day = clock.day_at(start_ms)
    while day.start_ms < end_ms:
        d = day.date
        if "traffic" in domains and day.kind == DayKind.WEEKDAY:
            for a, b in RUSH_HOURS:
                rows.append(
                    _control(
                        "rush_hour", "traffic", "congestion_index", clock.at_local(d, a),
                        clock.at_local(d, b), "weekday commuter peak",
                    )
                )  # fmt: skip
        if "energy" in domains:
            a, b = EVENING_PEAK
            rows.append(
                _control(
                    "evening_peak", "energy", "voltage_v", clock.at_local(d, a),
                    clock.at_local(d, b), "household evening peak: lowest voltage of the day",
                )
            )  # fmt: skip
        if day.kind in (DayKind.SATURDAY, DayKind.SUNDAY):
            rows.append(
                _control("weekend", ANY, ANY, day.start_ms, day.end_ms, f"{day.kind.value}")
            )
        if day.kind == DayKind.TET or day.tet_eve:
            note = "Tết holiday" if day.kind == DayKind.TET else "pre-Tết travel and shopping"
            rows.append(_control("tet", ANY, ANY, day.start_ms, day.end_ms, note))
        if day.kind == DayKind.HOLIDAY:
            rows.append(_control("holiday", ANY, ANY, day.start_ms, day.end_ms, "public holiday"))
        day = clock.day(d + timedelta(days=1))
    return [clip(r, start_ms, end_ms) for r in rows if r.end_ms > start_ms and r.start_ms < end_ms]


def clip(row: TruthRow, start_ms: int, end_ms: int) -> TruthRow:
    """The row limited to [start, end)."""
    return replace(row, start_ms=max(row.start_ms, start_ms), end_ms=min(row.end_ms, end_ms))


def sort_key(row: TruthRow) -> tuple[int, str, str, str]:
    """Truth rows in time order, stable for equal times."""
    return row.start_ms, row.record, row.kind, row.entity_id


def write_csv(path: Path, rows: Iterable[TruthRow]) -> int:
    """Write the ground truth; return the number of rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ordered = sorted(rows, key=sort_key)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in ordered:
            writer.writerow(row.csv_row())
    return len(ordered)


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a ground-truth file, as text (for tests and backtests)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))
