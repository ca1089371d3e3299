"""How the pipeline scales with workers: the saturation figures against one worker (pure).

Workers scale by partitions: faust gives partition *p* of every source topic to one
member, so a source topic's partition count (3 in dev) is the most workers that help.
On this 2-core machine the workers share the cores with the sink, Kafka and ClickHouse,
so the speed-up shows what the machine allows, not what the design could reach.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ioc.tooling.bench.stats import ratio


def scaling(saturation: Iterable[Any]) -> list[dict[str, Any]]:
    """Per worker count: events/s, per worker CPU-s, and both against one worker.

    ``speedup``: events/s over the 1-worker run's; ``cpu_efficiency``: events per worker
    CPU-s over its (1.0 = adding workers costs no extra CPU per event). Failed runs are
    left out; without a 1-worker run the ratios are None.
    """
    runs = sorted(
        (s for s in saturation if isinstance(s, dict) and "error" not in s and "workers" in s),
        key=lambda s: int(s["workers"]),
    )
    one = next((s for s in runs if s["workers"] == 1), None)
    out = []
    for s in runs:
        speed, per_cpu = s.get("events_per_s"), s.get("events_per_worker_cpu_s")
        speedup = ratio(speed, one.get("events_per_s")) if one else None
        efficiency = ratio(per_cpu, one.get("events_per_worker_cpu_s")) if one else None
        out.append(
            {
                "workers": s["workers"],
                "events_per_s": speed,
                "events_per_worker_cpu_s": per_cpu,
                "speedup": None if speedup is None else round(speedup, 3),
                "cpu_efficiency": None if efficiency is None else round(efficiency, 3),
            }
        )
    return out
