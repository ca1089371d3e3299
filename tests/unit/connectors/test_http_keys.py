"""API keys: only hashes are stored, permissions per stream, bad files refused clearly."""

from __future__ import annotations

import logging
import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from connectors.sources.base import ConfigurationError
from connectors.sources.http.idempotency import (
    ENTRY_OVERHEAD_BYTES,
    CachedResponse,
    ReplayCache,
    entry_bytes,
    idempotent_event_id,
    valid_idempotency_key,
)
from connectors.sources.http.keys import KeyStore, add_key, hash_key, revoke_keys

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
        *(
            orjson.dumps({"keys": [{"source": "a", "sha256": "0" * 64, "streams": ["qr"], **e}]})
            for e in (
                {"expires": "2027-06-30T00:00:00"},  # naive: whose midnight?
                {"expires": "30/06/2027"},
                {"expires": 1_830_000_000},
                {"rate": 0},
                {"rate": -1},
                {"rate": True},
                {"rate": "5"},
                {"burst": 0},
                {"burst": 2.5},
                {"burst": False},
                {"stream": ["qr"]},  # a typo is not silently ignored
            )
        ),
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


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _bump(path: Path) -> None:
    """Make sure the file's stat differs (mtime granularity can be coarse)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_optional_expiry_and_limits_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    until = datetime(2027, 6, 30, tzinfo=timezone(timedelta(hours=7)))
    raw = add_key(path, "gate", ["qr"], expires=until, rate=5, burst=10)
    plain = add_key(path, "other", ["qr"])
    entries = orjson.loads(path.read_bytes())["keys"]
    assert entries[0]["expires"] == "2027-06-30T00:00:00+07:00"
    assert (entries[0]["rate"], entries[0]["burst"]) == (5.0, 10)
    assert set(entries[1]) == {"source", "sha256", "streams"}  # defaults are not written
    store = KeyStore.load(path)
    key = store.authenticate(raw)
    assert key is not None
    assert (key.expires, key.rate, key.burst) == (until, 5.0, 10)
    assert not key.expired(datetime(2027, 6, 29, 16, 59, 59, tzinfo=UTC))
    assert key.expired(datetime(2027, 6, 29, 17, 0, tzinfo=UTC))  # midnight at +07:00
    other = store.authenticate(plain)
    assert other is not None
    assert other.expires is None
    assert not other.expired(datetime(9999, 1, 1, tzinfo=UTC))
    with pytest.raises(ConfigurationError, match="timezone"):
        add_key(path, "naive", ["qr"], expires=datetime(2027, 6, 30))  # noqa: DTZ001
    assert len(KeyStore.load(path)) == 2  # a refused key leaves the file as it was


def test_store_follows_its_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "keys.json"
    first = add_key(path, "gate-1", ["qr"])
    clock = Clock()
    store = KeyStore.load(path, clock=clock)
    outcomes: list[bool] = []
    store.on_reload = outcomes.append

    second = add_key(path, "gate-2", ["qr"])
    _bump(path)
    assert store.authenticate(second) is None  # checked at most once a second
    clock.t += 1.0
    assert store.authenticate(second) is not None  # then the new key is in
    assert outcomes == [True]

    revoke_keys(path, source="gate-1")
    _bump(path)
    clock.t += 1.0
    assert store.authenticate(first) is None  # revoked without a restart
    assert outcomes == [True, True]

    clock.t += 5.0
    assert store.authenticate(second) is not None
    assert outcomes == [True, True]  # stat unchanged: not read again

    path.write_bytes(b'{"keys": [')  # an editor saving half a file
    _bump(path)
    clock.t += 1.0
    with caplog.at_level(logging.ERROR):
        assert store.authenticate(second) is not None  # the previous keys stay
    assert outcomes == [True, True, False]
    assert store.stale
    assert "not reloaded, keeping 1 keys" in caplog.text
    clock.t += 1.0
    assert store.authenticate(second) is not None
    assert outcomes == [True, True, False]  # not retried (nor logged) until it changes

    path.unlink()
    third = add_key(path, "gate-3", ["qr"])  # a fixed file is picked up
    clock.t += 1.0
    assert store.authenticate(third) is not None
    assert store.authenticate(second) is None
    assert outcomes == [True, True, False, True]
    assert not store.stale


def test_a_clock_going_backwards_still_checks(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    add_key(path, "gate-1", ["qr"])
    clock = Clock()
    store = KeyStore.load(path, clock=clock)
    new = add_key(path, "gate-2", ["qr"])
    _bump(path)
    clock.t -= 50.0
    assert store.authenticate(new) is not None


def test_revoke_by_source_or_by_hash_prefix(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    a1, a2 = add_key(path, "a", ["qr"]), add_key(path, "a", ["traffic"])
    b1, b2 = add_key(path, "b", ["qr"]), add_key(path, "b", ["qr"])
    prefix = hash_key(b1)[:8]
    for bad in ("abc", "zzzzzzzz", ""):
        with pytest.raises(ConfigurationError, match="8 to 64 hex"):
            revoke_keys(path, sha256_prefix=bad)
    with pytest.raises(ConfigurationError, match="no key matches"):
        revoke_keys(path, source="c")
    with pytest.raises(ConfigurationError, match="no key matches"):
        revoke_keys(path, source="a", sha256_prefix=prefix)  # both must match
    with pytest.raises(ConfigurationError, match="name a source"):
        revoke_keys(path)
    removed = revoke_keys(path, sha256_prefix=prefix.upper())
    assert [k.sha256 for k in removed] == [hash_key(b1)]
    removed = revoke_keys(path, source="a")
    assert {k.sha256 for k in removed} == {hash_key(a1), hash_key(a2)}
    store = KeyStore.load(path)
    assert [k.sha256 for k in store] == [hash_key(b2)]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_revoke_refuses_an_ambiguous_prefix(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    keys = [{"source": "s", "sha256": f"{'ab' * 4}{i:056x}", "streams": ["qr"]} for i in range(2)]
    path.write_bytes(orjson.dumps({"keys": keys}))
    with pytest.raises(ConfigurationError, match="matches 2 keys"):
        revoke_keys(path, sha256_prefix="abababab")
    assert len(KeyStore.load(path)) == 2
    assert len(revoke_keys(path, sha256_prefix="abababab" + "0" * 55 + "1")) == 1


def test_replay_cache_is_bounded_in_bytes() -> None:
    def entry(size: int) -> CachedResponse:
        return CachedResponse("d" * 64, 200, b"x" * size, 1)

    key_cost = ENTRY_OVERHEAD_BYTES + 64 + len("s") + len("qr")
    assert entry_bytes(("s", "qr", "1"), entry(1_000)) == 1_000 + 1 + key_cost
    budget = 3 * (1_000 + 1 + key_cost)
    cache = ReplayCache(100, max_bytes=budget)
    for i in range(3):
        cache.put(("s", "qr", str(i)), entry(1_000))
    assert (len(cache), cache.bytes) == (3, budget)
    assert cache.get(("s", "qr", "0")) is not None  # refreshed: "1" is the oldest now
    cache.put(("s", "qr", "3"), entry(1_000))
    assert cache.get(("s", "qr", "1")) is None
    assert cache.bytes <= budget
    cache.put(("s", "qr", "big"), entry(2_500))  # evicts until both bounds hold
    assert len(cache) == 1
    assert cache.get(("s", "qr", "big")) is not None
    cache.put(("s", "qr", "huge"), entry(budget))  # larger than the budget: not kept
    assert cache.get(("s", "qr", "huge")) is None
    assert cache.get(("s", "qr", "big")) is not None  # and nothing evicted for it
    cache.put(("s", "qr", "big"), entry(10))  # a replaced entry's bytes are given back
    assert cache.bytes == entry_bytes(("s", "qr", "big"), entry(10))
    none = ReplayCache(100, max_bytes=0)
    none.put(("s", "qr", "1"), entry(1))
    assert (len(none), none.bytes) == (0, 0)
