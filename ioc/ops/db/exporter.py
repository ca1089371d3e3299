"""ClickHouse's own counters as Prometheus metrics, named as its built-in endpoint names them.

ClickHouse 20.1 and later serve ``/metrics`` themselves (``<prometheus>`` in the server's
config): ``ClickHouseMetrics_*`` (``system.metrics``, gauges), ``ClickHouseProfileEvents_*``
(``system.events``, counters since start) and ``ClickHouseAsyncMetrics_*``
(``system.asynchronous_metrics``). The 18.16 server Debian ships has no such endpoint, so
``ioc clickhouse-exporter`` reads the same three tables over the native protocol and
serves them under the same names: the platform rules (deploy/prometheus/rules/platform.yml)
then hold for either, and a province on a current ClickHouse scrapes the server directly.

One series is the exporter's own: ``clickhouse_up`` (1 when the last scrape's queries
answered, 0 otherwise), as ``mysql_up``/``pg_up`` are for their exporters — the exporter
keeps answering while the server is down or hung, so ``up`` alone cannot say it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric, UnknownMetricFamily
from prometheus_client.registry import Collector

from ioc.ops.db.executors import SqlExecutor

log = logging.getLogger(__name__)

UP = "clickhouse_up"

QUERIES = {
    "ClickHouseMetrics_": "SELECT metric, toFloat64(value) FROM system.metrics",
    "ClickHouseProfileEvents_": "SELECT event, toFloat64(value) FROM system.events",
    "ClickHouseAsyncMetrics_": "SELECT metric, toFloat64(value) FROM system.asynchronous_metrics",
}
"""Prefix of the built-in endpoint → the table it reads (name, value)."""

ALWAYS_EVENTS = (
    "Query", "SelectQuery", "InsertQuery", "FailedQuery", "FailedSelectQuery",
    "FailedInsertQuery", "InsertedRows", "DelayedInserts", "RejectedInserts",
)  # fmt: skip
"""Events exposed even before they first happen (0): ``system.events`` lists an event only
once it has happened, and ``increase()`` cannot see a first failure in a series that
starts at 1. The built-in endpoint lists every event, zeros included."""

_NOT_A_NAME = re.compile(r"[^a-zA-Z0-9_]")


def with_zeros(rows: Iterable[Sequence[Any]], names: Iterable[str]) -> list[tuple[str, float]]:
    """``rows`` (name, value), plus ``(name, 0.0)`` for each of ``names`` they lack."""
    found = [(str(name), float(value)) for name, value in rows]
    seen = {name for name, _ in found}
    return found + [(name, 0.0) for name in names if name not in seen]


def families(prefix: str, rows: Iterable[Sequence[Any]]) -> Iterator[Metric]:
    """One metric family per row: gauges, except the profile events' counters.

    The events are counters without ``_total`` in the built-in endpoint; they are
    exposed untyped here so that the names stay the server's (prometheus_client would
    add ``_total`` to a counter), and ``rate``/``increase`` work on them all the same.
    """
    for name, value in rows:
        metric = prefix + _NOT_A_NAME.sub("_", str(name))
        if prefix == "ClickHouseProfileEvents_":
            yield UnknownMetricFamily(metric, f"system.events {name}", value=float(value))
        else:
            yield GaugeMetricFamily(metric, f"{prefix[:-1]} {name}", value=float(value))


class ClickHouseCollector(Collector):
    """Queries the server on each scrape; a server that does not answer is ``clickhouse_up 0``.

    ``connect`` makes a fresh executor: after a failure the connection is dropped and
    the next scrape connects again (a restarted server is picked up without a restart
    of the exporter). Scrapes are serialised: one connection, one query at a time.
    """

    def __init__(self, connect: Callable[[], SqlExecutor]) -> None:
        self._connect = connect
        self._executor: SqlExecutor | None = None
        self._lock = threading.Lock()
        self._was_up: bool | None = None

    def collect(self) -> Iterator[Metric]:
        """``clickhouse_up`` and, when the server answered, its metrics."""
        with self._lock:
            try:
                if self._executor is None:
                    self._executor = self._connect()
                tables = {prefix: self._executor.execute(sql) for prefix, sql in QUERIES.items()}
                events = tables["ClickHouseProfileEvents_"]
                tables["ClickHouseProfileEvents_"] = with_zeros(events, ALWAYS_EVENTS)
            except Exception as error:  # any failure is "down", logged once (_changed)
                self._drop()
                self._changed(False, error)
                yield GaugeMetricFamily(UP, "1 when ClickHouse answered this scrape", value=0)
                return
            self._changed(True, None)
        yield GaugeMetricFamily(UP, "1 when ClickHouse answered this scrape", value=1)
        for prefix, rows in tables.items():
            yield from families(prefix, rows)

    def close(self) -> None:
        """Release the connection."""
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._executor is not None:
            with contextlib.suppress(Exception):  # a broken connection may not close cleanly
                self._executor.close()
            self._executor = None

    def _changed(self, up: bool, error: Exception | None) -> None:
        """Log the transitions only: a down server is one warning, not one per scrape."""
        if up != self._was_up:
            if up:
                log.info("ClickHouse answers")
            else:
                log.warning("ClickHouse does not answer: %s", error)
        self._was_up = up
