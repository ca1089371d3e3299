"""Hostile payloads for the fuzz tests: wrong types, missing fields, huge strings, non-JSON,
wrong encodings, NaN and Infinity."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
ENCODINGS = st.sampled_from(["utf-8", "utf-8", "utf-16", "utf-32", "cp1258", "latin-1"])


def encode(value: Any, encoding: str) -> bytes:
    # json (not orjson) on purpose: it writes NaN/Infinity literals, which are not JSON.
    text = json.dumps(value, allow_nan=True, ensure_ascii=False)
    return text.encode(encoding, errors="replace")


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """A valid event with one to three hostile edits."""
    data = dict(base)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["drop", "replace", "add", "huge", "keep"]))
        keys = sorted(data)
        if op == "drop" and keys:
            data.pop(draw(st.sampled_from(keys)))
        elif op == "replace" and keys:
            data[draw(st.sampled_from(keys))] = draw(JSON_VALUES)
        elif op == "add":
            data[draw(st.text(min_size=1, max_size=12))] = draw(JSON_VALUES)
        elif op == "huge" and keys:
            data[draw(st.sampled_from(keys))] = "\u1ec7" * draw(st.integers(1_000, 120_000))
    return data


def bodies(base: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """Request bodies / MQTT payloads: garbage, arbitrary JSON, near-valid events, batches."""
    return st.one_of(
        st.binary(max_size=300),
        st.builds(encode, JSON_VALUES, ENCODINGS),
        st.builds(encode, mutated(base), ENCODINGS),
        st.builds(encode, st.lists(mutated(base), min_size=1, max_size=5), st.just("utf-8")),
    )
