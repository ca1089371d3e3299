"""The recovery phase's table: one row per figure, in the order the steps ran (pure)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

MB = 1_000_000


def _s(value: Any) -> str:
    return "—" if value is None else f"{value:,.1f} s"


def _n(value: Any, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _mb(value: Any) -> str:
    return "—" if value is None else f"{value / MB:,.1f} MB"


def _replays(step: dict[str, Any]) -> str:
    parts = []
    for name, r in (step.get("replayed") or {}).items():
        parts.append(
            f"{name.rsplit('-worker-', 1)[-1]}: {_n(r.get('records'))} records, "
            f"{_mb(r.get('bytes'))}, {_s(r.get('seconds'))}"
        )
    return "; ".join(parts) or "—"


def _state(step: dict[str, Any]) -> str:
    state = step.get("state") or {}
    if not state.get("partitions_loaded"):
        return "no partition engine rebuilt"
    verdict = "offsets match" if state.get("offsets_match") else "MISMATCH"
    return (
        f"{state['partitions_loaded']} partitions, "
        f"{_n(state.get('state_records_loaded'))} state records: {verdict}"
    )


def _group(table: Table, label: str, step: dict[str, Any]) -> None:
    table.add_row(label, "group stable again", _s(step.get("group_stable_s")))
    table.add_row("", "every member recovered (faust Worker ready)", _s(step.get("recovered_s")))
    table.add_row("", "processing again (probe committed)", _s(step.get("processing_s")))
    table.add_row("", "changelog replayed (per worker)", _replays(step))
    table.add_row("", "state of the rebuilt engines", _state(step))


def recovery_tables(result: dict[str, Any]) -> list[Table]:
    """The recovery phase's figures, or nothing when it did not run or failed."""
    rec = result.get("recovery")
    if not isinstance(rec, dict) or "error" in rec:
        return []
    data = rec.get("dataset") or {}
    table = Table(
        "step", "figure", "value",
        title=f"Rebalance and recovery: {_n(data.get('entities'))} entities "
        f"(×{data.get('copies')}), store {rec.get('store')}, wall {_s(rec.get('wall_s'))}",
    )  # fmt: skip
    fill = rec.get("fill") or {}
    table.add_row(
        "fill (1 worker)",
        f"{_n(fill.get('events'))} events",
        f"{_s(fill.get('seconds'))}, {_n(fill.get('events_per_s'))} events/s, "
        f"{_n(fill.get('events_per_worker_cpu_s'))} per CPU-s",
    )
    log = rec.get("changelog") or {}
    table.add_row(
        "changelogs after it",
        f"{_n(log.get('records'))} records, {_mb(log.get('bytes'))}",
        f"{_n(log.get('records_per_event'), 2)} records and {_n(log.get('bytes_per_event'))} "
        f"bytes per event; {_n(log.get('bytes_per_entity'))} bytes per entity",
    )
    join = rec.get("join") or {}
    table.add_row(
        "join (2nd worker)", "its start-up: spawn → join request", _s(join.get("startup_s"))
    )
    table.add_row("", "old member told (heartbeat)", _s(join.get("old_member_told_s")))
    _group(table, "", join)
    leave = rec.get("leave") or {}
    table.add_row("leave (SIGTERM)", "it left the group", _s(leave.get("left_group_s")))
    _group(table, "", leave)
    restart = rec.get("restart") or {}
    deleted = restart.get("local_state_deleted") or {}
    table.add_row(
        "restart (SIGKILL)",
        "local state deleted",
        f"{_n(deleted.get('files'))} files, {_n(deleted.get('bytes'))} bytes",
    )
    table.add_row("", "start → joined group", _s(restart.get("joined_s")))
    table.add_row("", "start → faust Ready (state rebuilt)", _s(restart.get("ready_s")))
    _group(table, "", restart)
    replay: dict[str, Any] = next(iter((restart.get("replayed") or {}).values()), {})
    table.add_row("", "replay rate", f"{_n(replay.get('records_per_s'))} records/s")
    table.add_row(
        "",
        "restarted worker",
        f"peak RSS {_n(restart.get('peak_rss_mb'))} MB, {_n(restart.get('cpu_s'), 1)} CPU-s",
    )
    return [table]
