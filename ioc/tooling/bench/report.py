"""The bench's result: targets judged (pure), a rich table, and the JSON file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from ioc.tooling.bench.report_recovery import recovery_tables
from ioc.tooling.bench.stats import ratio

RSS_TARGET_MB = 400.0


@dataclass(frozen=True)
class Verdict:
    name: str
    value: float | None
    target: str
    met: bool | None
    """None when the figure is missing (phase skipped or failed)."""


def _get(result: dict[str, Any], *path: Any) -> Any:
    node: Any = result
    for key in path:
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return None
    return node


def _judge(name: str, value: float | None, target: str, ok: bool) -> Verdict:
    return Verdict(name, value, target, None if value is None else ok)


def _ok(items: Any) -> list[dict[str, Any]]:
    """Entries of a phase list that did not fail."""
    return [i for i in items or [] if isinstance(i, dict) and "error" not in i]


def errors(result: dict[str, Any]) -> list[str]:
    """Every failed phase, as "phase: error"."""
    found = []
    for key in ("baseline", "engine_only", "peer", "recovery"):
        if isinstance(result.get(key), dict) and "error" in result[key]:
            found.append(f"{key}: {result[key]['error']}")
    for key in ("saturation", "latency"):
        for item in result.get(key) or []:
            if "error" in item:
                found.append(f"{key}: {item['error']}")
    return found


def verdicts(result: dict[str, Any]) -> list[Verdict]:
    """The issue's targets against one result (reported, never asserted in a test)."""
    base = _get(result, "baseline", "events_per_s")
    out: list[Verdict] = []
    for sat in _ok(result.get("saturation")):
        r = ratio(sat.get("events_per_s"), base)
        out.append(
            _judge(f"pipeline / baseline ({sat['workers']} worker)", r, "≥ 0.5", (r or 0) >= 0.5)
        )
    peer = _get(result, "peer", "ratio")
    out.append(_judge("traffic job / Quix Streams", peer, "≥ 1.0", (peer or 0) >= 1.0))
    per_cpu = _get(result, "peer", "ratio_cpu")
    out.append(
        _judge("traffic job / Quix Streams, per CPU-s", per_cpu, "≥ 1.0", (per_cpu or 0) >= 1.0)
    )
    for live in _ok(result.get("latency")):
        w = live["workers"]
        raw = _get(live, "raw", "p99_s")
        out.append(_judge(f"raw p99 s ({w} worker)", raw, "≤ 2", raw is not None and raw <= 2))
        kpi = _get(live, "kpi_from_close", "p99_s")
        out.append(
            _judge(f"KPI p99 s after close ({w} worker)", kpi, "≤ 2", kpi is not None and kpi <= 2)
        )
    for sat in _ok(result.get("saturation")):
        workers = [v for k, v in (sat.get("peak_rss_mb") or {}).items() if "-worker-" in k]
        peak = max(workers, default=None)
        out.append(
            _judge(
                f"worker peak RSS MB ({sat['workers']} worker, "
                f"{_get(result, 'dataset', 'entities') or '?'} entities)",
                peak,
                f"≤ {RSS_TARGET_MB:.0f}",
                peak is not None and peak <= RSS_TARGET_MB,
            )
        )
    return out


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def tables(result: dict[str, Any]) -> list[Table]:
    """Throughput, latency, memory and targets, as rich tables."""
    base = _get(result, "baseline", "events_per_s")
    speed = Table(
        "throughput", "events", "s", "events/s", "× baseline", "events/CPU-s", title="Throughput"
    )
    if _ok([result.get("baseline")]):
        b = result["baseline"]
        speed.add_row("bare aiokafka + orjson", _fmt(b["records"]), _fmt(b["seconds"], 2),
                      _fmt(base), "1.00", _fmt(b.get("events_per_cpu_s")))  # fmt: skip
    if _ok([result.get("engine_only")]):
        e = result["engine_only"]
        speed.add_row(
            "worker's engines alone (no Kafka, no faust)", _fmt(e["events"]),
            _fmt(e["seconds"], 1), _fmt(e["events_per_s"]),
            _fmt(ratio(e["events_per_s"], base), 3), _fmt(e["events_per_cpu_s"]),
        )  # fmt: skip
    for sat in _ok(result.get("saturation")):
        speed.add_row(
            f"pipeline, {sat['workers']} worker(s) → ClickHouse",
            _fmt(sat["events"]), _fmt(sat["seconds"], 1), _fmt(sat["events_per_s"]),
            _fmt(ratio(sat["events_per_s"], base), 3), _fmt(sat.get("events_per_worker_cpu_s")),
        )  # fmt: skip
    peer = (_ok([result.get("peer")]) or [{}])[0]
    for name, label in (("ours", "traffic KPI job: ioc worker"), ("quix", "traffic KPI job: Quix")):
        if name in peer:
            p = peer[name]
            speed.add_row(
                label, _fmt(p["events"]), _fmt(p["seconds"], 1), _fmt(p["events_per_s"]),
                _fmt(ratio(p["events_per_s"], base), 3), _fmt(p.get("events_per_cpu_s")),
            )  # fmt: skip

    lat = Table("latency (s)", "n", "p50", "p95", "p99", "max", title="Latency at a fixed rate")
    for live in _ok(result.get("latency")):
        for key, label in (
            ("raw", "raw event → row"),
            ("kpi_from_close", "KPI: window end + lateness → row"),
            ("kpi_from_window_end", "KPI: window end → row"),
        ):
            s = live[key]
            lat.add_row(
                f"{label} ({live['workers']}w, {live['rate']:g}/s)", _fmt(s["count"]),
                _fmt(s["p50_s"], 2), _fmt(s["p95_s"], 2), _fmt(s["p99_s"], 2), _fmt(s["max_s"], 2),
            )  # fmt: skip

    mem = Table("process", "peak RSS MB", "CPU s", title="Memory and CPU per process")
    phases = [("baseline", result.get("baseline"))]
    if _ok([result.get("engine_only")]):
        e = result["engine_only"]
        mem.add_row("engine-only (data set loaded)", _fmt(e["peak_rss_mb"], 1), _fmt(e["cpu_s"], 1))
    phases += [(f"saturation {s['workers']}w", s) for s in _ok(result.get("saturation"))]
    phases += [(f"latency {s['workers']}w", s) for s in _ok(result.get("latency"))]
    phases += [("recovery", r) for r in _ok([result.get("recovery")])]
    for _, phase in phases:
        for proc, mb in ((phase or {}).get("peak_rss_mb") or {}).items():
            mem.add_row(proc, _fmt(mb, 1), _fmt((phase or {}).get("cpu_s", {}).get(proc), 1))
    for name in ("ours", "quix"):
        if name in peer:
            mem.add_row(f"peer-{name}", _fmt(peer[name]["peak_rss_mb"], 1),
                        _fmt(peer[name]["cpu_s"], 1))  # fmt: skip

    scale = Table(
        "workers", "events/s", "events per worker CPU-s", "× 1 worker (events/s)",
        "× 1 worker (per CPU-s)",
        title=f"Scaling at saturation ({_get(result, 'settings', 'partitions_per_source_topic')} "
        "partitions per source topic: at most that many workers own some)",
    )  # fmt: skip
    for row in result.get("scaling") or []:
        scale.add_row(
            _fmt(row["workers"]), _fmt(row["events_per_s"]), _fmt(row["events_per_worker_cpu_s"]),
            _fmt(row["speedup"], 2), _fmt(row["cpu_efficiency"], 2),
        )  # fmt: skip

    goals = Table("target", "value", "wanted", "met", title="Targets (issue 8)")
    for v in verdicts(result):
        met = "—" if v.met is None else ("yes" if v.met else "no")
        goals.add_row(v.name, _fmt(v.value, 2), v.target, met)
    return [speed, scale, *recovery_tables(result), lat, mem, goals]


def show(result: dict[str, Any], console: Console) -> None:
    """Print the tables and the context a reader needs to trust them."""
    m = result.get("machine", {})
    console.print(
        f"[bold]ioc bench[/bold] {result.get('mode')} · {m.get('cores')} cores {m.get('cpu')} · "
        f"load {result.get('load_before')} → {result.get('load_after')} · "
        f"{_get(result, 'dataset', 'events')} events, "
        f"{_get(result, 'dataset', 'entities')} entities"
    )
    for table in tables(result):
        console.print(table)
    for failure in errors(result):
        console.print(f"[red]failed[/red] {failure}")


def write(result: dict[str, Any], directory: Path, started: datetime) -> Path:
    """``<directory>/bench-<UTC time>-<mode>.json`` (and ``latest.json``)."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"bench-{started.strftime('%Y%m%dT%H%M%SZ')}-{result.get('mode')}.json"
    payload = orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    path = directory / name
    path.write_bytes(payload)
    (directory / "latest.json").write_bytes(payload)
    return path
