"""The recovery phase's maths: intervals, bytes replayed, the state check."""

from __future__ import annotations

import pytest

from ioc.tooling.bench.faustlog import Loaded
from ioc.tooling.bench.recovery_figures import (
    Marks,
    after,
    bytes_read,
    changelog_figures,
    per,
    state_check,
)

pytestmark = pytest.mark.unit


def test_marks_are_seconds_after_the_start_and_none_when_never_seen() -> None:
    marks = Marks(start=100.0, stable=103.456, recovered=110.0, caught_up=111.5, done=111.5)
    marks.partitions = {"qr[0]": 100.5, "energy[1]": 111.5}
    assert marks.seconds() == {
        "group_stable_s": 3.46,
        "recovered_s": 10.0,
        "caught_up_s": 11.5,
        "processing_s": 11.5,
        "partition_caught_up_s": {"energy[1]": 11.5, "qr[0]": 0.5},
    }
    assert Marks(start=1.0).seconds()["processing_s"] is None
    assert after(5.0, None) is None


def test_bytes_read_are_pro_rata_to_the_offsets_replayed() -> None:
    spans = {"a": 100, "b": 200, "c": 0}
    sizes = {"a": 1_000, "b": 4_000, "c": 0}
    # all of a, half of b; an empty log reads nothing
    assert bytes_read({"a": 100, "b": 100, "c": 0}, spans, sizes) == 3_000
    # a plan beyond the span (records written meanwhile) reads the whole log, no more
    assert bytes_read({"a": 150}, spans, sizes) == 1_000
    assert bytes_read({"z": 1}, spans, sizes) is None


def test_changelog_figures_per_event_and_entity() -> None:
    figures = changelog_figures({"a": 700, "b": 300}, {"a": 250_000, "b": 100_000}, 100, 50)
    assert figures["records"] == 1_000
    assert figures["bytes"] == 350_000
    assert figures["records_per_event"] == 10.0
    assert figures["bytes_per_entity"] == 7_000.0
    assert figures["bytes_per_record"] == 350.0
    assert changelog_figures({}, {})["records_per_event"] is None
    assert per(1, 0) is None


def test_state_check_flags_only_engines_behind_their_partition() -> None:
    expected = {("energy", 0): 2100, ("energy", 1): 50, ("qr", 0): -1}
    loaded = [
        Loaded("energy", 0, 10, None, 7),  # first load, superseded
        Loaded("energy", 0, 900, 1, 2100),
        Loaded("energy", 1, 40, 1, 60),  # ahead: the leaving member processed some
        Loaded("qr", 0, 0, None, -1),
    ]
    check = state_check(loaded, expected)
    assert check["offsets_match"] is True
    assert check["partitions_loaded"] == 3
    assert check["state_records_loaded"] == 940
    lost = state_check([Loaded("energy", 0, 0, None, -1), Loaded("x", 9, 1, 1, 1)], expected)
    assert lost["offsets_match"] is False
    assert [m["partition"] for m in lost["mismatches"]] == ["energy[0]", "x[9]"]
