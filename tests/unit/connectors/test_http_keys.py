"""API keys: only hashes are stored, permissions per stream, bad files refused clearly."""

from __future__ import annotations

import stat
from pathlib import Path

import orjson
import pytest

from connectors.sources.base import ConfigurationError
from connectors.sources.http.idempotency import (
    CachedResponse,
    ReplayCache,
    idempotent_event_id,
    valid_idempotency_key,
)
from connectors.sources.http.keys import KeyStore, add_key, hash_key

pytestmark = pytest.mark.unit


def test_add_key_stores_only_the_hash(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    raw = add_key(path, "qr-gate", ["qr"])
    text = path.read_text()
    assert raw not in text
    assert hash_key(raw) in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other = add_key(path, "all", ["*"])
    store = KeyStore.load(path)
    assert len(store) == 2
    key = store.authenticate(raw)
    assert key is not None
    assert key.source == "qr-gate"
    assert key.may_write("qr")
    assert not key.may_write("traffic")
    everything = store.authenticate(other)
    assert everything is not None
    assert everything.may_write("dossier")
    assert store.authenticate("guess") is None


def test_missing_file_is_an_empty_store(tmp_path: Path) -> None:
    assert len(KeyStore.load(tmp_path / "none.json")) == 0


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[]",
        orjson.dumps({"keys": [{"source": "a b", "sha256": "0" * 64, "streams": ["qr"]}]}),
        orjson.dumps({"keys": [{"source": "a", "sha256": "xyz", "streams": ["qr"]}]}),
        orjson.dumps({"keys": [{"source": "a", "sha256": "0" * 64, "streams": ["bogus"]}]}),
        orjson.dumps({"keys": [{"source": "a", "sha256": "0" * 64, "streams": []}]}),
    ],
)
def test_bad_keys_files_are_configuration_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "keys.json"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError):
        KeyStore.load(path)


def test_idempotent_ids_are_scoped_by_source_stream_key_and_index() -> None:
    base = idempotent_event_id("a", "qr", "k", 0)
    assert base == idempotent_event_id("a", "qr", "k", 0)
    others = {
        idempotent_event_id("b", "qr", "k", 0),
        idempotent_event_id("a", "traffic", "k", 0),
        idempotent_event_id("a", "qr", "k2", 0),
        idempotent_event_id("a", "qr", "k", 1),
    }
    assert base not in others
    assert len(others) == 4


def test_idempotency_key_syntax() -> None:
    assert valid_idempotency_key("order-42:retry")
    assert not valid_idempotency_key("")
    assert not valid_idempotency_key("has space")
    assert not valid_idempotency_key("x" * 256)


def test_replay_cache_is_a_bounded_lru() -> None:
    cache = ReplayCache(2)
    entry = CachedResponse("d", 200, b"{}", 1)
    cache.put(("s", "qr", "1"), entry)
    cache.put(("s", "qr", "2"), entry)
    assert cache.get(("s", "qr", "1")) == entry  # refreshed
    cache.put(("s", "qr", "3"), entry)
    assert cache.get(("s", "qr", "2")) is None
    assert cache.get(("s", "qr", "1")) == entry
    disabled = ReplayCache(0)
    disabled.put(("s", "qr", "1"), entry)
    assert disabled.get(("s", "qr", "1")) is None
