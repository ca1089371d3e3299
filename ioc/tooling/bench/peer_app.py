"""The peer of phase (d): the traffic KPI job written with Quix Streams.

Run by the peer's own interpreter (``.cache/bench/peer-venv``: Quix Streams pins
pydantic below the project's version, so it cannot share the project's venv) as
``python ioc/tooling/bench/peer_app.py --broker … --input … --output … --group … --state-dir …``.
It imports nothing from the project.

The job: 1-minute tumbling windows per road segment (the record key), event time = the
record timestamp, grace = the allowed lateness, windows closed per partition; per
window the observation count, vehicles, intensity-weighted mean speed and mean
occupancy, written when the window closes. librdkafka's producer uses murmur2 (Java's
and our partitioner), so its keys land where ours do.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def _parts(value: dict[str, Any]) -> dict[str, Any]:
    n = value["intensity"]
    return {"vehicles": n, "sxv": value["average_speed_kmh"] * n, "occ": value["occupancy"]}


def _kpi(window: dict[str, Any]) -> dict[str, Any]:
    vehicles = window["vehicles"]
    return {
        "window_start_ms": window["start"],
        "window_end_ms": window["end"],
        "observations": window["observations"],
        "vehicles": vehicles,
        "mean_speed_kmh": window["sxv"] / vehicles if vehicles else None,
        "mean_occupancy": window["occupancy"],
    }


def _broker(address: str, config_env: str) -> Any:
    """The broker address, or a ConnectionConfig from the TLS/SASL settings in ``config_env``.

    The settings come through the environment, not argv, so ``ps`` shows no password.
    """
    from quixstreams.kafka.configuration import (  # type: ignore[import-not-found]
        ConnectionConfig,
    )

    if not config_env or not os.environ.get(config_env):
        return address
    return ConnectionConfig.from_librdkafka_dict(json.loads(os.environ[config_env]))


def main(argv: list[str]) -> int:
    """Build and run the application until SIGTERM."""
    from quixstreams import Application  # type: ignore[import-not-found]
    from quixstreams.dataframe.windows import (  # type: ignore[import-not-found]
        Count,
        Mean,
        Sum,
    )

    parser = argparse.ArgumentParser(prog="peer_app")
    parser.add_argument("--broker", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--grace-ms", type=int, default=120_000)
    parser.add_argument(
        "--broker-config-env", default="", help="variable holding librdkafka settings (JSON)"
    )
    args = parser.parse_args(argv[1:])

    app = Application(
        broker_address=_broker(args.broker, args.broker_config_env),
        consumer_group=args.group,
        auto_offset_reset="earliest",
        commit_interval=0.5,
        state_dir=args.state_dir,
        processing_guarantee="at-least-once",
        producer_extra_config={"partitioner": "murmur2_random"},
        loglevel="INFO",
    )
    source = app.topic(args.input, key_deserializer="str", value_deserializer="json")
    sink = app.topic(args.output, key_serializer="str", value_serializer="json")
    sdf = app.dataframe(source)
    sdf = sdf.apply(_parts)
    sdf = (
        sdf.tumbling_window(duration_ms=60_000, grace_ms=args.grace_ms)
        .agg(observations=Count(), vehicles=Sum("vehicles"), sxv=Sum("sxv"), occupancy=Mean("occ"))
        # Closed when the partition's stream time passes end + grace (our watermark is
        # per partition too); the default ("key") waits for the same key's next record.
        .final(closing_strategy="partition")
    )
    sdf = sdf.apply(_kpi)
    sdf.to_topic(sink)
    app.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
