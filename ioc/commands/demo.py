"""``ioc demo``: the whole pipeline on this machine, fed through the real connectors.

``make demo`` installs what is missing, starts the local stack and runs this. It
prepares the schema, topics, profile and outbox, starts every pipeline process, and
shows a live view until Ctrl-C; then it stops exactly the processes it started. With
``--no-tty --duration N`` it runs N seconds, checks that rows reached ClickHouse, and
exits 0 or 1 (the integration test does that).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console
from rich.live import Live

from ioc.settings import Settings
from schemas.topics import DOSSIER_STATUS, ENERGY_READINGS, QR_SCANS, TRAFFIC_OBS

if TYPE_CHECKING:
    from ioc.tooling.demo.probe import Probe
    from ioc.tooling.demo.supervisor import Spec, Supervisor

console = Console()
COMPOSE = "deploy/docker-compose.yml"
GRAFANA_COMPOSE_URL = "http://localhost:3000"


def _child_env(settings: Settings, work: Path) -> dict[str, str]:
    """The demo's exact settings for every child (plus PATH and friends)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    suffix = settings.stream_topic_suffix
    overrides = {
        "http_api_keys_file": str(work / "http-api-keys.json"),
        "connector_topic_suffix": suffix,
        "alerter_topic": f"{settings.alerter_topic}{suffix}" if suffix else settings.alerter_topic,
    }
    return env | settings.model_copy(update=overrides).env_vars()


def _specs(
    settings: Settings, work: Path, backfill_s: float, rate: float, duration_s: float, seed: int
) -> list[Spec]:
    from ioc.tooling.demo.supervisor import Spec

    py = sys.executable
    sink = [py, "-m", "ioc", "sink", "--topic-suffix", settings.stream_topic_suffix]
    return [
        Spec("sink", sink, settings.sink_metrics_port),
        Spec(
            "worker",
            [py, "-m", "ioc", "worker", "--loglevel", "warning"],
            settings.stream_metrics_port,
        ),
        Spec("alerter", [py, "-m", "ioc", "alerter"], settings.alerter_metrics_port),
        Spec("http", [py, "-m", "ioc", "connector", "http", "serve"], settings.http_port),
        Spec("mqtt", [py, "-m", "ioc", "connector", "mqtt"], settings.mqtt_metrics_port),
        Spec(
            "outbox", [py, "-m", "ioc", "connector", "outbox", "run"], settings.outbox_metrics_port
        ),
        Spec(
            "feed",
            [
                py,
                "-m",
                "ioc.tooling.demo.feed",
                "--key-file",
                str(work / "qr-app.key"),
                "--status-file",
                str(work / "feed.json"),
                "--rate",
                str(rate),
                "--backfill-s",
                str(backfill_s),
                "--duration-s",
                str(duration_s),
                "--seed",
                str(seed),
            ],
        ),
    ]


def _footer(settings: Settings, started_s: float) -> str:
    return (
        f"started in {started_s:.1f} s · ClickHouse database {settings.clickhouse_database} · "
        f"logs in {settings.data_dir}/demo/logs · Ctrl-C stops the demo's processes"
    )


def demo_command(
    ctx: typer.Context,
    duration: Annotated[
        float | None, typer.Option(help="Stop after N seconds (default: until Ctrl-C)")
    ] = None,
    tty: Annotated[bool, typer.Option("--tty/--no-tty", help="Live view, or plain lines")] = True,
    rate: Annotated[float, typer.Option(help="Catch-up rate of the simulator, events/s")] = 500,
    backfill: Annotated[
        float, typer.Option(help="Simulated seconds before now to start from (KPIs at once)")
    ] = 900,
    seed: Annotated[int, typer.Option(help="Simulator seed")] = 7,
) -> None:
    """Run the whole pipeline here, fed through its connectors, with a live view."""
    from ioc.tooling.demo import setup
    from ioc.tooling.demo.supervisor import DemoError, Supervisor

    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    began = time.monotonic()
    work = Path(settings.data_dir) / "demo"
    work.mkdir(parents=True, exist_ok=True)
    setup.require_stack(settings)
    supervisor = Supervisor(work, _child_env(settings, work))
    for name in supervisor.stop_leftovers():
        console.print(f"stopped {name}, left over from an earlier demo")
    for step, result in setup.prepare(settings, work).items():
        console.print(f"[green]✓[/green] {step}: {result}")
    (work / "feed.json").unlink(missing_ok=True)
    duration_s = duration if duration is not None else 7 * 86_400.0
    code = 0
    _stop_on_signals()
    try:
        for spec in _specs(settings, work, backfill, rate, duration_s + 30, seed):
            running = supervisor.start(spec)
            ready = supervisor.wait_ready(running)
            console.print(
                f"[green]✓[/green] {spec.name} (pid {running.process.pid}) ready in {ready:.1f} s"
            )
        started_s = time.monotonic() - began
        console.print(f"[bold]demo started in {started_s:.1f} s[/bold]")
        code = _watch(settings, supervisor, began, duration, tty, work)
    except KeyboardInterrupt:
        console.print("Ctrl-C")
    except DemoError as exc:
        console.print(f"[red]{exc}[/red]")
        code = 1
    finally:
        # A second Ctrl-C must not cut the cleanup short and leave processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        console.print("stopping the demo's processes (the feed first)…")
        stopped = supervisor.stop()
        console.print(f"stopped {len(stopped)} demo processes: {', '.join(stopped)}")
        _goodbye(settings)
    raise typer.Exit(code)


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both end the demo through its cleanup (KeyboardInterrupt).

    Set explicitly: a process started in the background by a non-interactive shell
    inherits SIGINT ignored, and Python then keeps it ignored.
    """

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def _watch(
    settings: Settings,
    supervisor: Supervisor,
    began: float,
    duration: float | None,
    tty: bool,
    work: Path,
) -> int:
    """Refresh the view every second until the duration ends (or Ctrl-C); then check."""
    from ioc.tooling.demo.supervisor import DemoError
    from ioc.tooling.demo.view import render

    probe = _probe(settings)
    started_s = time.monotonic() - began
    end = None if duration is None else time.monotonic() + duration
    first_kpi = False
    live = Live(console=console, refresh_per_second=4) if tty else None
    last_line = 0.0
    if live is not None:
        live.start()
    try:
        while end is None or time.monotonic() < end:
            for dead in supervisor.dead():
                raise DemoError(f"{dead.spec.name} exited{supervisor.tail(dead)}")
            snap = probe.take()
            if not first_kpi and (snap.rows.get("kpi_traffic") or snap.rows.get("kpi_energy")):
                first_kpi = True
                console.print(
                    f"first KPI rows in ClickHouse {time.monotonic() - began:.1f} s "
                    "after `ioc demo` started"
                )
            if live is not None:
                live.update(render(snap, _footer(settings, started_s)))
            elif time.monotonic() - last_line >= 10:
                last_line = time.monotonic()
                rates = ", ".join(f"{k} {v:,.0f}/s" for k, v in snap.rates.items())
                console.print(f"rows {snap.rows}; {rates}")
            time.sleep(1.0)  # the view refreshes every second
    finally:
        if live is not None:
            live.stop()
    return 0 if duration is None else _check(supervisor, probe, work)


def _probe(settings: Settings) -> Probe:
    from ioc.ops.db.executors import clickhouse_client
    from ioc.tooling.demo.probe import Probe

    client = clickhouse_client(settings, role="reader", connect_timeout=3, send_receive_timeout=10)
    ports = {
        "worker": settings.stream_metrics_port,
        "sink": settings.sink_metrics_port,
        "alerter": settings.alerter_metrics_port,
        "http": settings.http_port,
        "mqtt": settings.mqtt_metrics_port,
        "outbox": settings.outbox_metrics_port,
    }
    return Probe(client, settings.clickhouse_database, ports)


CHECK_TIMEOUT_S = 45.0


def _check(supervisor: Supervisor, probe: Probe, work: Path) -> int:
    """Stop the feed, then wait until what it sent is in ClickHouse.

    Raw events of every stream it sent, and KPI rows: 0 when all arrived, 1 otherwise.
    """
    feed = next(r for r in supervisor.running if r.spec.name == "feed")
    feed.process.terminate()
    feed.process.wait(timeout=30)
    status = (
        orjson.loads((work / "feed.json").read_bytes()) if (work / "feed.json").exists() else {}
    )
    sent: dict[str, int] = status.get("sent", {})
    tables = {
        QR_SCANS: "events_qr",
        TRAFFIC_OBS: "events_traffic",
        ENERGY_READINGS: "events_energy",
        DOSSIER_STATUS: "events_dossier",
    }
    wanted = [tables[t] for t, n in sent.items() if n and t in tables]
    deadline = time.monotonic() + CHECK_TIMEOUT_S
    while True:
        snap = probe.take()
        missing = [t for t in wanted if not snap.rows.get(t)]
        kpis = sum(n for t, n in snap.rows.items() if t.startswith("kpi_"))
        if (not missing and kpis and wanted) or time.monotonic() > deadline:
            break
        time.sleep(1.0)  # polling ClickHouse until a deadline
    console.print(f"simulator sent {sent}; ClickHouse has {snap.rows}")
    if not wanted:
        console.print("[red]the simulator sent nothing")
        return 1
    if missing or not kpis:
        console.print(f"[red]missing in ClickHouse: {missing or ''} {'' if kpis else 'KPI rows'}")
        return 1
    console.print("[green]every stream the simulator sent reached ClickHouse, with KPIs")
    return 0


def _goodbye(settings: Settings) -> None:
    console.print(
        "The local stack (Kafka, ClickHouse, PostgreSQL, Mosquitto, Prometheus, Alertmanager) "
        "is still running: `make status` shows it, `make down` stops it.\n"
        f"Grafana dashboards: with Docker, `docker-compose -f {COMPOSE} up --build` runs the "
        f"same pipeline with Grafana at {GRAFANA_COMPOSE_URL} (admin / admin)."
    )
