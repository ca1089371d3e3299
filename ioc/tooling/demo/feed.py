"""``python -m ioc.tooling.demo.feed``: the simulator, live, through the real connectors.

Started by ``ioc demo`` as its own process (so it is stopped like the others, by PID).
It starts ``--backfill-s`` in the past, catches up at ``--rate`` events/s — so the
first windows close and KPIs show within seconds — then follows the clock at the
profile's natural rate. Counts sent per topic go to ``--status-file`` (JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from datetime import timedelta
from pathlib import Path

import orjson

from ioc.settings import Settings
from ioc.tooling.demo.senders import HttpOutput, MqttOutput, OutboxOutput, RoutingOutput
from ioc.tooling.simulator import RealTime, Simulation, SimulationConfig, run
from ioc.wiring.connectors import device_login, pg_conninfo
from schemas.privacy import PiiHasher
from schemas.province.loading import load_profile
from schemas.timeutil import utcnow


def build_output(settings: Settings, api_key: str) -> RoutingOutput:
    """The three connector sinks, addressed from the settings."""
    http = HttpOutput(f"http://{settings.http_host}:{settings.http_port}", api_key)
    patterns = {
        "traffic": settings.mqtt_traffic_topics.split(",")[0].strip(),
        "energy": settings.mqtt_energy_topics.split(",")[0].strip(),
    }
    mqtt_sink = MqttOutput(
        "127.0.0.1",
        settings.mosquitto_port,
        patterns,
        "ioc-demo-feed",
        login_for=lambda device: device_login(settings, device),
    )
    outbox = OutboxOutput(pg_conninfo(settings), settings.outbox_schema)
    return RoutingOutput(http, mqtt_sink, outbox)


async def feed(settings: Settings, args: argparse.Namespace) -> RoutingOutput:
    """Run until the duration ends or SIGTERM/SIGINT; the sink flushes either way."""
    api_key = Path(args.key_file).read_text().strip()
    profile = load_profile(args.profile or settings.province_profile)
    start = utcnow().replace(microsecond=0) - timedelta(seconds=args.backfill_s)
    sim = Simulation(
        SimulationConfig(
            profile=profile, seed=args.seed, start=start, end=start + timedelta(days=7)
        ),
        PiiHasher(settings.pii_hmac_key.get_secret_value().encode(), settings.pii_key_id),
    )
    sink = build_output(settings, api_key)
    sink.http.identities = sim.identities
    status = Path(args.status_file)

    def progress(t_ms: int, sent: int) -> None:
        status.write_bytes(orjson.dumps({"sent": sink.sent, "at_ms": t_ms}))

    task = asyncio.ensure_future(
        run(sim, sink, realtime=RealTime(args.rate, args.duration_s), on_progress=progress)
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task  # cancelled = stopped on purpose; run() flushed and closed the sink
    status.write_bytes(orjson.dumps({"sent": sink.sent, "done": True}))
    return sink


def main() -> None:
    """Entry point: settings are built here, once."""
    parser = argparse.ArgumentParser(prog="python -m ioc.tooling.demo.feed")
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--status-file", required=True)
    parser.add_argument("--profile", default="")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--backfill-s", type=float, default=900.0)
    parser.add_argument("--duration-s", type=float, default=7 * 86_400.0)
    args = parser.parse_args()
    asyncio.run(feed(Settings(), args))


if __name__ == "__main__":
    main()
