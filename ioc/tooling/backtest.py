"""The stream's detectors over recorded series (CSV) or simulated events, offline."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from schemas.errors import IocError
from schemas.province.loading import DEFAULT_PROFILE, load_profile
from schemas.province.profile import Profile
from schemas.timeutil import from_ms, to_ms
from streams.detect.model import AnomalyUpdate, Observation
from streams.detect.observations import KPI_METRICS
from streams.detect.offline import OfflineTopology
from streams.detect.params import DetectorParams, params_from_dict
from streams.detect.profile import params_from_profile
from streams.detect.runner import OfflineDetection
from streams.detect.series import ScoredPoint, run_series

OUTPUT_HEADER = ("timestamp", "value", "score", "is_anomaly")
_TIME_COLUMNS = ("timestamp", "time", "ts", "datetime", "date")


class BacktestInputError(IocError):
    """An input file ``ioc backtest`` cannot read (the message names the line)."""


def detector_params(
    params_file: Path | None = None, profile: str | Path = DEFAULT_PROFILE
) -> DetectorParams:
    """What an operator's detectors run with: the profile's, then ``--params`` on top."""
    params = params_from_profile(load_profile(profile))
    if params_file is not None:
        try:
            data = json.loads(params_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BacktestInputError(f"{params_file}: {exc}") from None
        params = params_from_dict(data, base=params)
    return params


def parse_timestamp(text: str, zone: ZoneInfo) -> int:
    """Epoch ms of an ISO 8601 timestamp or epoch number; naive times are read in ``zone``."""
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        # Epoch seconds until ~5138 AD; bigger numbers are milliseconds.
        return int(number) if abs(number) >= 1e11 else round(number * 1000)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return to_ms(moment)


def _value(text: str) -> float | None:
    text = text.strip()
    if not text or text.lower() in ("nan", "null", "none", "na"):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def read_series(path: Path, zone: ZoneInfo) -> Iterator[tuple[str, str, int, float | None]]:
    """Rows of a ``timestamp,value`` CSV (header optional): text, text, ms, value."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = csv.reader(handle)
        time_col, value_col = 0, 1
        for line, row in enumerate(rows, start=1):
            if not row or not "".join(row).strip():
                continue
            if line == 1:
                names = [cell.strip().lower() for cell in row]
                if any(name in _TIME_COLUMNS for name in names) or "value" in names:
                    time_col = next((i for i, n in enumerate(names) if n in _TIME_COLUMNS), 0)
                    value_col = names.index("value") if "value" in names else 1 - time_col
                    continue
            try:
                ts_text, value_text = row[time_col], row[value_col]
                yield ts_text, value_text, parse_timestamp(ts_text, zone), _value(value_text)
            except (IndexError, ValueError, OverflowError) as exc:
                raise BacktestInputError(f"{path}:{line}: {exc}") from None


def score_series(
    input_path: Path,
    params: DetectorParams,
    *,
    zone: ZoneInfo,
    detector: str | None = None,
) -> tuple[list[tuple[str, str, int, float | None]], list[ScoredPoint]]:
    """The rows of a ``timestamp,value`` CSV and the detector's verdict on each, in file order.

    What ``ioc backtest --input`` writes out, and what ``ioc quality --nab`` scores.
    """
    rows = list(read_series(input_path, zone))
    return rows, run_series([(ms, value) for _, _, ms, value in rows], params, detector=detector)


def backtest_csv(
    input_path: Path,
    output_path: Path,
    params: DetectorParams,
    *,
    zone: ZoneInfo,
    detector: str | None = None,
) -> tuple[int, int]:
    """Score every row of ``input_path`` into ``output_path``; returns (rows, anomalies)."""
    rows, scored = score_series(input_path, params, zone=zone, detector=detector)
    with output_path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(OUTPUT_HEADER)
        for (ts_text, value_text, _, _), point in zip(rows, scored, strict=True):
            out.writerow((ts_text, value_text, f"{point.score:.4f}", int(point.is_anomaly)))
    return len(rows), sum(p.is_anomaly for p in scored)


def backtest_events(
    events_path: Path,
    output_path: Path,
    params: DetectorParams,
    *,
    metric: str,
    profile: Profile,
    detector: str | None = None,
) -> tuple[int, int]:
    """Aggregate a JSONL of events to KPI windows as the stream does, score ``metric``.

    One output row per (entity, window) point of the metric, with the entity as two
    extra columns. Events should come in event-time order (the simulator writes them
    so); events behind the watermark are late and skipped, as in the stream.
    """
    if metric not in KPI_METRICS:
        raise BacktestInputError(
            f"--metric {metric!r} is not fed by any KPI window; known: {', '.join(KPI_METRICS)}"
        )
    rows: list[tuple[Observation, float, bool]] = []
    opened_ids: set[str] = set()

    def keep(obs: Observation, score: float, updates: list[AnomalyUpdate]) -> None:
        if obs.metric != metric:
            return
        new = {u.anomaly_id for u in updates if u.is_open} - opened_ids
        opened_ids.update(new)
        rows.append((obs, score, bool(new)))

    run = OfflineDetection(
        params, OfflineTopology.from_profile(profile), on_point=keep, only=detector
    )
    with events_path.open(encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise BacktestInputError(f"{events_path}:{line}: {exc}") from None
            run.feed_dict(data)
    run.finish()
    zone = ZoneInfo(params.timezone)
    with output_path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow((*OUTPUT_HEADER, "entity_kind", "entity_id"))
        for obs, score, opened in rows:
            stamp = from_ms(obs.ts_ms).astimezone(zone).isoformat()
            out.writerow(
                (
                    stamp,
                    f"{obs.value:.6g}",
                    f"{score:.4f}",
                    int(opened),
                    obs.entity_kind,
                    obs.entity_id,
                )
            )
    return len(rows), sum(opened for _, _, opened in rows)
