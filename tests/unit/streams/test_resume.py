"""When a loaded partition must ask the log where to resume (streams.resume)."""

from __future__ import annotations

import pytest

from streams.resume import needs_probe

pytestmark = pytest.mark.unit


def test_the_next_offset_or_an_earlier_one_needs_no_probe() -> None:
    assert not needs_probe(41, 42)  # the record right after the state's last one
    assert not needs_probe(41, 30)  # already applied: the engine skips it


def test_a_record_beyond_the_next_offset_needs_a_probe() -> None:
    assert needs_probe(41, 43)


def test_a_state_that_applied_nothing_resumes_where_the_group_does() -> None:
    assert not needs_probe(-1, 500)
