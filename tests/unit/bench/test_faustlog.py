"""A worker's log read back: group steps, recovery tables, loaded engines."""

from __future__ import annotations

import time

import pytest

from ioc.tooling.bench.faustlog import Loaded, first, last, parse, replay_plan, settled, since

pytestmark = pytest.mark.unit

CL = "ioc-worker-bench-x-rec-energy-state-changelog"

LOG = f"""\
[2026-12-07 21:25:52,242] [17461] [WARNING] Heartbeat failed for group g because it is rebalancing
[2026-12-07 21:25:52,242] [17461] [INFO] Revoking previously assigned partitions
+Topic Partition Set---+------------+
| topic                | partitions |
| ioc.energy.v1        | {{0-2}}      |
+----------------------+------------+ for group g
[2026-12-07 21:25:52,271] [17461] [INFO] Joined group 'g' (generation 2) with member_id faust-1
[2026-12-07 21:25:52,277] [17461] [INFO] Setting newly assigned partitions
[2026-12-07 21:25:54,451] [17461] [INFO] [^---Recovery]: Highwater for active changelog partitions:
+Highwater - Active-------+-----------+-----------+
| topic                   | partition | highwater |
+-------------------------+-----------+-----------+
| {CL} | 1         | 16289     |
| 〃                      | 2         | 15139     |
| ioc-worker-bench-x-rec-dossier-state-changelog | 1 | -1 |
+-------------------------+-----------+-----------+
[2026-12-07 21:25:55,957] [17461] [INFO] [^---Recovery]: active offsets at start of reading:
+Reading Starts At - Active-----+-----------+--------+
| topic                   | partition | offset |
+-------------------------+-----------+--------+
| {CL} | 1         | -1     |
| 〃                      | 2         | 10000  |
| ioc-worker-bench-x-rec-dossier-state-changelog | 1 | -1 |
+-------------------------+-----------+--------+
[2026-12-07 21:25:55,958] [17461] [INFO] [^---Recovery]: Restoring state from changelog topics...
[2026-12-07 21:25:59,333] [17461] [INFO] [^---Recovery]: Still fetching changelog topics for recovery
+Remaining for active recovery--+-----------+-------------+-------------+-----------+
| {CL} | 1         | 16289       | 308         | 15981     |
+-------------------------+-----------+-------------+-------------+-----------+
[2026-12-07 21:26:11,445] [17461] [INFO] [^---Recovery]: Done reading from changelog topics
[2026-12-07 21:26:11,468] [17461] [INFO] [^---Recovery]: Worker ready
[2026-12-07 21:26:11,469] [17461] [INFO] [^Worker]: Ready
[2026-12-07 21:26:12,001] [17461] [INFO] energy[1]: loaded 5321 state records, watermark 1765091000000, offset 2125, re-emitting 0
[2026-12-07 21:26:12,002] [17461] [INFO] dossier[1]: loaded 0 state records, watermark None, offset -1, re-emitting 0
[2026-12-07 21:33:16,330] [17461] [INFO] LeaveGroup request succeeded
"""


def _at(stamp: str) -> float:
    return time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S"))


def test_events_are_read_in_order_with_their_local_time() -> None:
    events = parse(LOG)
    kinds = [e.kind for e in events]
    assert kinds == [
        "revoke", "joined", "assigned", "highwater", "start", "restoring", "done_reading",
        "ready", "app_ready", "loaded", "loaded", "left",
    ]  # fmt: skip
    assert events[0].at == pytest.approx(_at("2026-12-07 21:25:52") + 0.242)
    assert events[1].generation == 2


def test_recovery_tables_follow_their_line_and_ditto_marks_repeat_the_topic() -> None:
    events = parse(LOG)
    high = first(events, "highwater")
    assert high is not None
    assert high.table[(CL, 2)] == 15139
    # 5-column tables ("Remaining …") are not recovery plans: left out.
    assert replay_plan(events) == {(CL, 1): 16290, (CL, 2): 5139}


def test_loaded_engines_carry_their_state_offset() -> None:
    loaded = [e.loaded for e in parse(LOG) if e.loaded is not None]
    assert loaded == [
        Loaded("energy", 1, 5321, 1765091000000, 2125),
        Loaded("dossier", 1, 0, None, -1),
    ]


def test_a_member_has_settled_when_its_last_rebalance_step_is_ready() -> None:
    events = parse(LOG)
    assert settled(events)
    assert not settled(events[:5])  # assigned, recovery not done
    assert not settled([])  # nothing since the step began
    ready = last(events, "ready")
    assert ready is not None
    assert since(events, ready.at)[0].kind == "ready"


def test_no_plan_without_both_tables() -> None:
    assert replay_plan(parse(LOG.split("active offsets")[0])) == {}
