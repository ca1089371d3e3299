"""The ASCII fast path of decode() must never skip a string that needs NFC."""

from __future__ import annotations

import unicodedata

import orjson
import pytest

from schemas.codec import decode
from schemas.results import Anomaly
from tests.factories import anomaly

pytestmark = pytest.mark.unit

DECOMPOSED = unicodedata.normalize("NFD", "Mất điện Đồng Xoài")


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_decomposed_text_is_normalised_whether_escaped_or_not(ensure_ascii: bool) -> None:
    payload = anomaly(description="x").model_dump(mode="json") | {"description": DECOMPOSED}
    raw = (
        orjson.dumps(payload).decode().encode("ascii", "backslashreplace").replace(b"\\x", b"\\u00")
        if ensure_ascii
        else orjson.dumps(payload)
    )
    decoded = decode(Anomaly, raw)
    assert decoded.description == unicodedata.normalize("NFC", DECOMPOSED)


def test_plain_ascii_payload_round_trips() -> None:
    value = anomaly(description="plain ascii")
    assert decode(Anomaly, value.model_dump_json()) == value
