"""File connector pieces: field maps, readers, pacing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.sources.base import ConfigurationError
from connectors.sources.files import (
    _Pacer,
    apply_mapping,
    detect_format,
    parse_mapping,
    read_records,
)
from schemas.errors import ContractError

pytestmark = pytest.mark.unit


def test_parse_mapping() -> None:
    assert parse_mapping(["a=b", "c=x.y", "drop="]) == {"a": "b", "c": "x.y", "drop": ""}
    with pytest.raises(ConfigurationError):
        parse_mapping(["nope"])
    with pytest.raises(ConfigurationError):
        parse_mapping(["=x"])


def test_apply_mapping_renames_nests_and_drops() -> None:
    record = {"speed": "40", "v1": "220", "voltage_v.l2": "221", "junk": "1", "keep": 2}
    mapping = {"speed": "average_speed_kmh", "v1": "voltage_v.l1", "junk": ""}
    assert apply_mapping(record, mapping) == {
        "average_speed_kmh": "40",
        "voltage_v": {"l1": "220", "l2": "221"},
        "keep": 2,
    }
    with pytest.raises(ContractError):
        apply_mapping({"a": 1, "a.b": 2}, {})


def test_readers(tmp_path: Path) -> None:
    csv_path = tmp_path / "x.csv"
    csv_path.write_text("\ufeffa,b\n1,\n3,4\n", encoding="utf-8")
    assert detect_format(csv_path) == "csv"
    assert list(read_records(csv_path, "csv")) == [(2, {"a": "1"}), (3, {"a": "3", "b": "4"})]
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_bytes(b'{"a": 1}\n\n{oops\n')
    assert detect_format(jsonl) == "jsonl"
    assert list(read_records(jsonl, "jsonl")) == [(1, b'{"a": 1}\n'), (3, b"{oops\n")]


def test_pacer_speedup_and_rate() -> None:
    t0 = datetime(2026, 11, 26, tzinfo=UTC)
    pacer = _Pacer(rate=None, speedup=60.0)
    start = pacer.due(t0)
    assert pacer.due(t0 + timedelta(minutes=1)) - start == pytest.approx(1.0, abs=0.01)
    # Out-of-order events are not held back.
    assert pacer.due(t0) - start == pytest.approx(0.0, abs=0.01)
    rated = _Pacer(rate=10.0, speedup=None)
    dues = [rated.due(None) for _ in range(3)]
    assert dues[2] - dues[0] == pytest.approx(0.2, abs=0.01)
