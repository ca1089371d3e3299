"""``ioc quality``: detection quality on weeks of simulated history, scored against its truth.

The simulator (seeded, as fast as possible, through its Python API) makes the events
and the ground truth; each domain runs in its own process through the offline
detection path (:mod:`streams.detect.runner`: the stream's detectors over a lean
aggregation of the windows they read); :mod:`streams.detect.quality` scores the
openings with the hit rule of docs/architecture.md ("Detection quality"). Prints a
table, writes a JSON file, and exits 1 when a target is missed.

``ioc quality --nab DIR`` scores real labelled series instead: every file of a folder
in the Numenta Anomaly Benchmark layout through the code ``ioc backtest`` runs, scored
by NAB's rules for its three profiles (:mod:`ioc.tooling.nab`).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from ioc.assets import default_data_dir
from ioc.settings import Settings
from ioc.tooling.backtest import detector_params
from ioc.tooling.nab import NabCorpus, NabRun, run_nab
from ioc.tooling.nab_scoring import PROFILES, SHORT_NAMES
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


def nab_table(result: dict[str, Any]) -> Table:
    """The per-file table of a NAB result, with its totals."""
    raw = [f"raw {SHORT_NAMES[p]}" for p in PROFILES]
    t = Table("file", "rows", "windows", "found", "false pos.", "in probation", *raw)
    for f in [*result["files"], {"file": "total", **result["totals"]}]:
        t.add_row(
            f["file"], f"{f['rows']:,}", str(f["windows"]), str(f["detected_windows"]),
            str(f["false_positives"]), str(f["probation_detections"]),
            *(f"{f['raw'][p]:.3f}" for p in PROFILES),
        )  # fmt: skip
    return t


DEFAULT_OUTPUT = default_data_dir() / "quality.json"
DEFAULT_NAB_OUTPUT = default_data_dir() / "quality-nab.json"
SIMULATOR_ONLY = {"seed": "--seed", "days": "--days", "start": "--start", "domain": "--domain"}
NAB_ONLY = {"subset": "--subset", "params_file": "--params"}


def _given(ctx: typer.Context, options: dict[str, str]) -> str:
    """The options of ``options`` given on the command line (not left at their default)."""
    sources = {name: ctx.get_parameter_source(name) for name in options}
    # By name: typer vendors its own click, whose ParameterSource is not click's.
    return ", ".join(
        flag
        for name, flag in options.items()
        if (source := sources[name]) is not None and source.name != "DEFAULT"
    )


def quality_command(
    ctx: typer.Context,
    seed: Annotated[
        int, typer.Option(help="Simulator seed (tuned on 1, reported on 2)")
    ] = REPORT_SEED,
    days: Annotated[float, typer.Option(help="Simulated days")] = DAYS,
    start: Annotated[
        str, typer.Option(help="First local day (ISO date); the default spans Tết 2027")
    ] = START.isoformat(),
    profile: Annotated[str, typer.Option(help="Province profile")] = DEFAULT_PROFILE,
    output: Annotated[
        Path | None,
        typer.Option(help="JSON report [.cache/quality.json; with --nab .cache/quality-nab.json]"),
    ] = None,
    workers: Annotated[int, typer.Option(help="Processes (one per domain, or per file)")] = 4,
    domain: Annotated[
        list[str] | None, typer.Option(help="Only these domains (repeatable; for tuning)")
    ] = None,
    nab: Annotated[
        Path | None,
        typer.Option(
            help="Score real series instead: a folder in the NAB layout (data/, labels/, config/)",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    subset: Annotated[
        str | None,
        typer.Option(help="With --nab: comma list of data/ folders or files [all labelled files]"),
    ] = None,
    params_file: Annotated[
        Path | None,
        typer.Option("--params", help="With --nab: JSON overriding detector parameters"),
    ] = None,
) -> None:
    """Detection quality per kind on simulated history (hits, misses, precision, recall).

    With --nab: the NAB score of the default detector on real labelled series.
    """
    if nab is not None:
        if wrong := _given(ctx, SIMULATOR_ONLY):
            raise typer.BadParameter(f"{wrong}: only without --nab")
        settings = ctx.obj
        assert isinstance(settings, Settings)
        run = NabRun(detector_params(params_file, profile), ZoneInfo(settings.display_timezone))
        about = {"subset": subset, "profile": profile, "params": params_file and str(params_file)}
        nab_quality(nab, subset, run, output or DEFAULT_NAB_OUTPUT, workers, about)
        return
    if wrong := _given(ctx, NAB_ONLY):
        raise typer.BadParameter(f"{wrong}: only with --nab")
    output = output or DEFAULT_OUTPUT
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


def nab_quality(
    root: Path, subset: str | None, run: NabRun, output: Path, workers: int, about: dict[str, Any]
) -> None:
    """Detect and score a NAB folder: print the table, write the JSON report (``about`` too)."""
    corpus = NabCorpus.load(root)
    files = corpus.resolve(subset)
    console = Console(width=max(150, Console().width))  # NAB's paths are up to 58 characters
    console.print(f"detecting on {len(files)} labelled series of {root}…")
    result = {**about, **run_nab(corpus, files, run, workers)}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(nab_table(result))
    figures = " · ".join(f"{SHORT_NAMES[p]} {_fmt(result['scores'][p], 1)}" for p in PROFILES)
    totals = result["totals"]
    console.print(f"NAB score (0 never fires, 100 perfect): {figures}")
    wall = result["wall_s"]
    console.print(f"{totals['files']} files, {totals['rows']:,} rows in {wall} s; report: {output}")
