"""Which record a partition's state is owed next (streams.runtime.resume)."""

from __future__ import annotations

import pytest

from streams.runtime.resume import REPROBE_S, Rewind, Step, needs_probe, next_step

pytestmark = pytest.mark.unit


def test_the_next_offset_or_an_earlier_one_needs_no_probe() -> None:
    assert not needs_probe(41, 42)  # the record right after the state's last one
    assert not needs_probe(41, 30)  # already applied: the engine skips it


def test_a_record_beyond_the_next_offset_needs_a_probe() -> None:
    assert needs_probe(41, 43)


def test_a_state_that_applied_nothing_is_owed_the_log_from_its_start() -> None:
    # Not "where the group is": faust can commit records nobody applied.
    assert not needs_probe(-1, 0)
    assert needs_probe(-1, 500)


def test_without_a_rewind_records_are_applied_in_order_or_probed() -> None:
    assert next_step(41, 42, None, now=0.0) is Step.APPLY
    assert next_step(41, 41, None, now=0.0) is Step.APPLY  # the engine skips it itself
    assert next_step(41, 114, None, now=0.0) is Step.PROBE  # a jump, mid-run or at load


def test_a_rewind_applies_the_awaited_record_and_skips_earlier_ones() -> None:
    rewind = Rewind(awaited=36, probed_at=10.0)
    assert next_step(35, 36, rewind, now=10.1) is Step.APPLY
    assert next_step(35, 20, rewind, now=10.1) is Step.SKIP


def test_a_record_past_the_awaited_one_seeks_again() -> None:
    # Fetched before the seek: faust's read offset moved past the seek with it, so the
    # seek is repeated or the awaited record would be dropped when it is fetched again.
    rewind = Rewind(awaited=36, probed_at=10.0)
    assert next_step(35, 114, rewind, now=10.1) is Step.RESEEK


def test_the_group_offset_opt_in_only_affects_a_state_that_applied_nothing() -> None:
    assert next_step(-1, 500, None, now=0.0, empty_from_group=True) is Step.APPLY
    assert next_step(41, 500, None, now=0.0, empty_from_group=True) is Step.PROBE


def test_a_rewind_waiting_too_long_asks_the_log_again() -> None:
    rewind = Rewind(awaited=36, probed_at=10.0)
    assert next_step(35, 114, rewind, now=10.0 + REPROBE_S) is Step.PROBE
