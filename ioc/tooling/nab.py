"""Detection quality on real labelled series: a folder in the NAB layout, scored by NAB's rules.

The folder holds ``data/<folder>/<file>.csv`` (``timestamp,value``),
``labels/combined_windows.json`` (per file, the anomaly windows as start and end
timestamps) and ``config/profiles.json`` (the profiles' cost matrices). Every
labelled file of the chosen subset goes through the very code ``ioc backtest --input``
runs (:func:`ioc.tooling.backtest.score_series`: the stream's detector suite, the
default detector for a bare series unless ``detector`` says otherwise); a row is a
detection when it opens an anomaly (backtest's ``is_anomaly``). The maths is
:mod:`ioc.tooling.nab_scoring`.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ioc.tooling.backtest import BacktestInputError, score_series
from ioc.tooling.nab_scoring import (
    PROFILES,
    Cost,
    FileOutcome,
    NabLabelError,
    assess,
    scores,
    window_rows,
)
from schemas.errors import IocError
from streams.detect.params import DetectorParams

LABELS = "labels/combined_windows.json"
PROFILES_FILE = "config/profiles.json"
ALL = ("", "all", "ALL", "*")


class NabInputError(IocError):
    """A NAB folder, subset or file ``ioc quality --nab`` cannot use (the message says why)."""


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NabInputError(f"{path}: {exc}") from None


@dataclass(frozen=True)
class NabCorpus:
    root: Path
    labels: dict[str, list[tuple[str, str]]]
    """Per labelled file (path under ``data/``), its windows as (start, end) text."""
    costs: dict[str, Cost]

    @classmethod
    def load(cls, root: Path) -> NabCorpus:
        """The labels and cost matrices of the NAB folder ``root``."""
        if not (root / "data").is_dir():
            raise NabInputError(f"{root}: no data/ folder (not in the NAB layout)")
        raw = _json(root / LABELS)
        profiles = _json(root / PROFILES_FILE)
        try:
            labels = {name: [(s, e) for s, e in spans] for name, spans in sorted(raw.items())}
            costs = {p: Cost.of(profiles[p]["CostMatrix"]) for p in PROFILES}
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise NabInputError(f"{root}: unexpected labels or profiles ({exc!r})") from None
        return cls(root, labels, costs)

    def resolve(self, spec: str | None) -> list[str]:
        """The labelled files a ``--subset`` names, in order; all of them for none (or ``all``).

        ``spec`` is a comma list of ``data/`` folders, files (``folder/file.csv``) or bare
        file names.
        """
        files = list(self.labels)
        if spec is None or spec.strip() in ALL:
            return files
        chosen: list[str] = []
        for item in (part.strip().strip("/") for part in spec.split(",")):
            if not item:
                continue
            item = item.removeprefix("data/")
            if item in self.labels:
                matches = [item]
            else:
                matches = [f for f in files if f.startswith(item + "/")]
                matches = matches or [f for f in files if f.rsplit("/", 1)[-1] == item]
            if not matches:
                raise NabInputError(f"--subset {item!r} names no labelled file under data/")
            chosen += [m for m in matches if m not in chosen]
        if not chosen:
            raise NabInputError(f"--subset {spec!r} names nothing")
        return chosen


@dataclass(frozen=True)
class NabRun:
    """How each series is detected: what ``ioc backtest`` would get."""

    params: DetectorParams
    zone: ZoneInfo
    detector: str | None = None


def _moment(text: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise NabInputError(f"{where}: timestamp {text!r} is not ISO 8601") from None


def score_file(root: Path, name: str, spans: list[tuple[str, str]], run: NabRun) -> FileOutcome:
    """One labelled file through the detector, assessed against its windows."""
    path = root / "data" / name
    try:
        rows, scored = score_series(path, run.params, zone=run.zone, detector=run.detector)
    except (BacktestInputError, OSError) as exc:
        raise NabInputError(f"{path}: {exc}") from None
    stamps = [_moment(text, str(path)) for text, _, _, _ in rows]
    edges = [(_moment(s, f"{LABELS} {name}"), _moment(e, f"{LABELS} {name}")) for s, e in spans]
    try:
        windows = window_rows(stamps, edges)
    except NabLabelError as exc:
        raise NabInputError(f"{LABELS} {name}: {exc}") from None
    return assess(name, [p.is_anomaly for p in scored], windows)


def _timed(
    root: Path, name: str, spans: list[tuple[str, str]], run: NabRun
) -> tuple[FileOutcome, float]:
    began = time.monotonic()
    return score_file(root, name, spans, run), time.monotonic() - began


def _figure(x: float, digits: int = 3) -> float | None:
    return None if math.isnan(x) else round(x, digits)


def run_nab(corpus: NabCorpus, files: list[str], run: NabRun, workers: int = 2) -> dict[str, Any]:
    """Detect and score every file of ``files``; the JSON-ready result."""
    began = time.monotonic()
    spans = [corpus.labels[name] for name in files]
    roots = [corpus.root] * len(files)
    runs = [run] * len(files)
    if workers <= 1 or len(files) <= 1:
        done = list(map(_timed, roots, files, spans, runs))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(_timed, roots, files, spans, runs))
    outcomes = [outcome for outcome, _ in done]
    per_file = []
    for outcome, seconds in done:
        per_file.append({**outcome.as_dict(corpus.costs), "detect_s": round(seconds, 2)})
    return {
        "nab": str(corpus.root),
        "files": per_file,
        "totals": {
            "files": len(outcomes),
            "rows": sum(o.rows for o in outcomes),
            "windows": sum(o.windows for o in outcomes),
            "scorable_windows": sum(o.scorable_windows for o in outcomes),
            "detected_windows": sum(o.detected_windows for o in outcomes),
            "false_positives": sum(o.false_positives for o in outcomes),
            "probation_detections": sum(o.probation_detections for o in outcomes),
            "raw": {p: round(sum(o.raw(c) for o in outcomes), 6) for p, c in corpus.costs.items()},
        },
        "scores": {p: _figure(s) for p, s in scores(outcomes, corpus.costs).items()},
        "costs": {p: asdict(c) for p, c in corpus.costs.items()},
        "detector": {"default": run.detector is None, "name": run.detector, "tz": run.zone.key},
        "wall_s": round(time.monotonic() - began, 1),
    }
