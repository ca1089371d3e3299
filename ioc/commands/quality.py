"""``ioc quality``: detection quality on weeks of simulated history, scored against its truth.

The simulator (seeded, as fast as possible, through its Python API) makes the events
and the ground truth; each domain runs in its own process through the offline
detection path (:mod:`streams.detect.runner`: the stream's detectors over a lean
aggregation of the windows they read); :mod:`streams.detect.quality` scores the
openings with the hit rule of docs/architecture.md ("Detection quality"). Prints a
table, writes a JSON file, and exits 1 when a target is missed.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ioc.assets import default_data_dir
from ioc.tooling.quality import (
    DAYS,
    REPORT_SEED,
    START,
    QualityConfig,
    run_quality,
)
from ioc.tooling.simulator import DOMAINS
from schemas.province.loading import DEFAULT_PROFILE


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def table(result: dict[str, Any]) -> Table:
    """The per-kind table of a result."""
    report = result["report"]
    t = Table("kind", "injected", "hits", "misses", "detections", "false pos.", "precision",
              "recall", "median delay (min)")  # fmt: skip
    rows = [*report["kinds"].items(), ("overall", report["overall"])]
    for kind, k in rows:
        delay = k["median_delay_s"]
        t.add_row(
            kind, str(k["injections"]), str(k["hits"]), str(k["misses"]), str(k["detections"]),
            str(k["false_positives"]), _fmt(k["precision"]), _fmt(k["recall"]),
            _fmt(None if delay is None else delay / 60, 1),
        )  # fmt: skip
    return t


DEFAULT_OUTPUT = default_data_dir() / "quality.json"


def quality_command(
    seed: Annotated[
        int, typer.Option(help="Simulator seed (tuned on 1, reported on 2)")
    ] = REPORT_SEED,
    days: Annotated[float, typer.Option(help="Simulated days")] = DAYS,
    start: Annotated[
        str, typer.Option(help="First local day (ISO date); the default spans Tết 2027")
    ] = START.isoformat(),
    profile: Annotated[str, typer.Option(help="Province profile")] = DEFAULT_PROFILE,
    output: Annotated[Path, typer.Option(help="JSON report")] = DEFAULT_OUTPUT,
    workers: Annotated[int, typer.Option(help="Processes (one per domain)")] = 4,
    domain: Annotated[
        list[str] | None, typer.Option(help="Only these domains (repeatable; for tuning)")
    ] = None,
) -> None:
    """Detection quality per kind on simulated history (hits, misses, precision, recall)."""
    config = QualityConfig(
        profile=profile,
        seed=seed,
        start=date.fromisoformat(start),
        days=days,
        domains=tuple(domain) if domain else tuple(DOMAINS),
    )
    console = Console(width=max(120, Console().width))
    console.print(
        f"simulating {days:g} days from {start} (seed {seed}, profile {profile}) and detecting…"
    )
    result = run_quality(config, workers)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(table(result))
    events = sum(result["events"].values())
    console.print(
        f"{events:,} events in {result['wall_s']} s; control alerts: "
        f"{result['report']['control_alerts']}; report: {output}"
    )
    if result["missed_targets"]:
        for reason in result["missed_targets"]:
            console.print(f"[red]missed target[/red] {reason}")
        raise typer.Exit(1)
