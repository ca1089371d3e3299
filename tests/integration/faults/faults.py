"""Each fault of the gauntlet, injected under the running feed, and its time to recover.

Every step returns a :class:`Recovery`: how long the service was away (``down_s``, from
the injection until it answered again) and how long the pipeline then took to catch up
(``recover_s``): for a connector, until every event its client had begun to send by then
was accepted and in Kafka; for ClickHouse and the sink, until the sink had committed —
written to ClickHouse — every record in its topics at that moment.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from tests.integration.conftest import port_taken
from tests.integration.faults.feed import Feeder, HttpFeeder
from tests.integration.faults.pipeline import Pipeline, until, wait_gone
from tests.integration.faults.tail import KafkaTail

CATCH_UP_S = 90
HANG_S = 60.0


@dataclass
class Recovery:
    fault: str
    down_s: float
    recover_s: float
    reconciled: int
    unit: str
    note: str = ""


def table(rows: list[Recovery]) -> str:
    """The recovery table of a run, as printed and as quoted in docs/faults.md."""
    head = f"{'fault':<44} {'down s':>7} {'recover s':>9}  {'reconciled':<28} note"
    lines = [head, "-" * len(head)]
    for r in rows:
        line = f"{r.fault:<44} {r.down_s:>7.1f} {r.recover_s:>9.1f}  "
        lines.append(f"{line}{f'{r.reconciled} {r.unit}':<28} {r.note}".rstrip())
    return "\n".join(lines)


def connector_caught_up(
    p: Pipeline, feeder: Feeder, tail: KafkaTail, topics: list[str], what: str
) -> tuple[float, int]:
    """Until every item ``feeder`` had begun to send is accepted and in Kafka: (time, n)."""
    target = feeder.attempted

    def caught_up() -> bool:
        feeder.check()
        accepted = feeder.accepted
        return len(accepted) >= target and tail.has(topics, accepted[:target])

    return until(caught_up, CATCH_UP_S, f"{what}: the {target} sent before it in Kafka", p), target


def sink_caught_up(p: Pipeline, what: str) -> tuple[float, int]:
    """Until the sink committed every record in its topics now: (time, records)."""
    ends = p.ends()
    until(lambda: p.behind(ends) == 0, CATCH_UP_S, f"{what}: the sink to catch up", p)
    return time.monotonic(), sum(ends.values())


# --- connectors ---------------------------------------------------------------------------


def mosquitto_restarted(p: Pipeline, mqtt: Feeder, tail: KafkaTail, topics: list[str]) -> Recovery:
    """Mosquitto stopped and started by its script while devices publish.

    The bridge is held (SIGSTOP, our own process) just before, so that the broker holds
    messages it acknowledged to the devices for the bridge's persistent session across
    its restart: they reach Kafka only if that QoS 1 session survives it.
    """
    p.signal("bridge", signal.SIGSTOP)
    before = len(mqtt.accepted)
    until(lambda: len(mqtt.accepted) >= before + 3, 30, "readings queued for the held bridge", p)
    queued = len(mqtt.accepted) - before
    injected = time.monotonic()
    down = p.mosquitto.restart()
    p.signal("bridge", signal.SIGCONT)
    done, n = connector_caught_up(p, mqtt, tail, topics, "Mosquitto restarted")
    note = f"{queued} queued for the held bridge's session"
    return Recovery("Mosquitto restarted (QoS 1 session)", down, done - injected - down, n,
                    "readings in Kafka", note)  # fmt: skip


def postgres_restarted(p: Pipeline, outbox: Feeder, tail: KafkaTail, topic: str) -> Recovery:
    """PostgreSQL restarted by its script (a fast shutdown: every connection cut) while
    the system writes changes and the poller polls every 50 ms."""
    injected = time.monotonic()
    down = p.postgres.restart()
    done, n = connector_caught_up(p, outbox, tail, [topic], "PostgreSQL restarted")
    return Recovery("PostgreSQL restarted mid-poll", down, done - injected - down, n,
                    "dossier changes in Kafka", f"{outbox.refused} writes refused, retried")  # fmt: skip


def gateway_sigterm(p: Pipeline, http: HttpFeeder, tail: KafkaTail, topic: str) -> Recovery:
    """SIGTERM while a request is in flight (its body half-sent), then a new gateway.

    The stopping gateway must exit 0 within its drain time (the Kafka write's timeout
    + 1 s); a request it no longer takes, the held one included (its body is no longer
    read), fails at the client, which sends it again to the new process.
    """
    refused_before = http.refused
    http.stall.armed.set()
    until(http.stall.in_flight.is_set, 30, "a request in flight", p)
    injected = time.monotonic()
    p.signal("gateway", signal.SIGTERM)
    # The listener closes first: from then on the held request is one the stop must drain.
    until(lambda: not port_taken(p.http_port), 15, "the gateway to stop listening", p)
    http.stall.release.set()
    code = p.terminate("gateway")  # already asked: this waits for its exit
    exited = time.monotonic() - injected
    assert code == 0, f"the gateway exited {code} on SIGTERM\n{p.tails()}"
    drain_s = p.settings.http_kafka_timeout_s + 1
    assert exited <= drain_s + 2, f"the gateway took {exited:.1f} s to stop (drain {drain_s} s)"
    p.spawn("gateway")
    back = until(p.gateway_up, 60, "the new gateway", p)
    done, n = connector_caught_up(p, http, tail, [topic], "gateway SIGTERM")
    held = "answered 200" if http.stall.status == 200 else "cut, sent again"
    note = (
        f"exited 0 {exited:.1f} s after SIGTERM; the request in flight {held}; "
        f"{http.refused - refused_before} refused, retried"
    )
    return Recovery("gateway SIGTERM, a request in flight", back - injected, done - back, n,
                    "QR scans in Kafka", note)  # fmt: skip


# --- ClickHouse and the sink --------------------------------------------------------------


class Hang(threading.Thread):
    """ClickHouse hung (SIGSTOP) for HANG_S, in a thread: the other faults run meanwhile."""

    def __init__(self, p: Pipeline) -> None:
        super().__init__(daemon=True, name="clickhouse-hang")
        self.p = p
        self.began = self.resumed = 0.0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.began = time.monotonic()
            self.p.clickhouse.fail("hung", HANG_S)
            self.resumed = time.monotonic()
        except BaseException as exc:  # re-raised by result()
            self.error = exc

    def result(self) -> Recovery:
        self.join(HANG_S + 30)
        assert not self.is_alive(), "the hang did not end"
        assert self.error is None, f"the hang failed: {self.error!r}"
        done, n = sink_caught_up(self.p, "ClickHouse resumed")
        return Recovery(f"ClickHouse hung (SIGSTOP) {HANG_S:.0f} s", self.resumed - self.began,
                        done - self.resumed, n, "records committed")  # fmt: skip


def _during_insert(p: Pipeline, timeout_s: float = 20) -> bool:
    """Until the sink's INSERT runs on the server (True), or ``timeout_s`` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if p.inserting():
            return True
    return False


def clickhouse_killed(p: Pipeline) -> Recovery:
    """ClickHouse SIGKILLed while the sink inserts, and started again by its script."""
    mid_insert = _during_insert(p)
    pid = p.clickhouse.pid()
    injected = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    p.forget_monitor()
    wait_gone(pid)
    p.clickhouse.start()
    back = time.monotonic()
    done, n = sink_caught_up(p, "ClickHouse restarted")
    note = "killed during an INSERT" if mid_insert else "no INSERT seen running at the kill"
    return Recovery("ClickHouse SIGKILLed mid-insert", back - injected, done - back, n,
                    "records committed", note)  # fmt: skip


def sink_killed(p: Pipeline) -> Recovery:
    """The sink SIGKILLed while its INSERT runs (consumed, not yet committed), restarted."""
    mid_batch = _during_insert(p)
    injected = time.monotonic()
    p.kill("sink")
    pending = p.behind(p.ends())  # what it had not committed when it died
    p.spawn("sink")
    back = time.monotonic()
    done, n = sink_caught_up(p, "sink restarted")
    assert pending > 0, "the sink had nothing uncommitted at the kill: not mid-batch"
    note = f"{pending} records uncommitted at the kill" + (
        ", its INSERT running" if mid_batch else ", no INSERT seen running"
    )
    return Recovery("sink SIGKILLed mid-batch", back - injected, done - back, n,
                    "records committed", note)  # fmt: skip


def feeding(*feeders: Any) -> None:
    """Assert the feed still runs: a fault is injected under it, not after it."""
    for f in feeders:
        f.check()
    finished = [f.name_ for f in feeders if f.finished_at is not None]
    assert not finished, f"the feed ended before this fault ({finished}): lengthen SPAN_S"
