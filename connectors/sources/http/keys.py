"""API keys per source, stored as SHA-256 hashes (the raw key is shown once, never kept).

The keys file is JSON::

    {"keys": [{"source": "qr-gate-dx", "sha256": "<64 hex>", "streams": ["qr"],
               "expires": "2027-06-30T00:00:00+07:00", "rate": 5, "burst": 10}]}

``"streams": ["*"]`` allows every stream. ``expires`` (ISO 8601 with an offset),
``rate`` (requests/s) and ``burst`` are optional; without them a key never expires and
has the gateway's default limits. Keys are long random tokens, so a plain SHA-256 (no
salt, no slow hash) is enough: there is nothing to brute-force.

A running gateway notices a changed file (its stat, checked at most once a second when
a request comes) and reloads it, so a revoked or expired key is refused without a
restart; a file that no longer parses is logged and the previous keys stay.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from connectors.sources.base import ConfigurationError
from connectors.sources.edge import STREAMS

log = logging.getLogger(__name__)

ALL_STREAMS = "*"
RELOAD_CHECK_S = 1.0
"""The keys file's stat is checked at most this often (on a request)."""
MIN_PREFIX_HEX = 8
_SOURCE = re.compile(r"^[A-Za-z0-9_.:\-/]{1,64}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PREFIX = re.compile(rf"^[0-9a-f]{{{MIN_PREFIX_HEX},64}}$")

Stamp = tuple[int, int, int, int, int]
"""(device, inode, size, mtime ns, ctime ns): a file replaced or rewritten changes it."""


def hash_key(raw: str) -> str:
    """SHA-256 hex of a raw API key."""
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """What one key may do: write as ``source`` to ``streams``, until ``expires``."""

    source: str
    sha256: str
    streams: frozenset[str]
    expires: datetime | None = None
    rate: float | None = None
    """Requests per second; None = the gateway's default."""
    burst: int | None = None

    def may_write(self, stream: str) -> bool:
        """True when this key may write to ``stream``."""
        return ALL_STREAMS in self.streams or stream in self.streams

    def expired(self, now: datetime) -> bool:
        """True from ``expires`` on (``now`` is aware)."""
        return self.expires is not None and now >= self.expires

    def to_json(self) -> dict[str, object]:
        """The keys-file form."""
        out: dict[str, object] = {
            "source": self.source,
            "sha256": self.sha256,
            "streams": sorted(self.streams),
        }
        if self.expires is not None:
            out["expires"] = self.expires.isoformat()
        if self.rate is not None:
            out["rate"] = self.rate
        if self.burst is not None:
            out["burst"] = self.burst
        return out


def parse_expiry(value: object, where: str) -> datetime:
    """An ISO 8601 instant with its offset; a naive one is refused (its zone is a guess)."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{where}: 'expires' must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigurationError(f"{where}: 'expires' is not ISO 8601: {value!r}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ConfigurationError(
            f"{where}: 'expires' needs a timezone offset (e.g. {value}+07:00 or {value}Z)"
        )
    return parsed


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check(entry: object, where: str) -> ApiKey:
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{where}: each key must be an object")
    source, digest, streams = entry.get("source"), entry.get("sha256"), entry.get("streams")
    if not isinstance(source, str) or not _SOURCE.match(source):
        raise ConfigurationError(f"{where}: 'source' must be a code (letters, digits, _.:-/)")
    if not isinstance(digest, str) or not _SHA256.match(digest):
        raise ConfigurationError(f"{where}: 'sha256' must be 64 lowercase hex characters")
    if not isinstance(streams, list) or not streams:
        raise ConfigurationError(f"{where}: 'streams' must be a non-empty list")
    unknown = {s for s in streams if s != ALL_STREAMS and s not in STREAMS}
    if unknown:
        raise ConfigurationError(f"{where}: unknown streams {sorted(map(str, unknown))}")
    extra = set(entry) - {"source", "sha256", "streams", "expires", "rate", "burst"}
    if extra:
        raise ConfigurationError(f"{where}: unknown fields {sorted(extra)}")
    expires = parse_expiry(entry["expires"], where) if entry.get("expires") is not None else None
    rate, burst = entry.get("rate"), entry.get("burst")
    if rate is not None and not (_number(rate) and math.isfinite(rate) and rate > 0):
        raise ConfigurationError(f"{where}: 'rate' must be a number of requests/s above 0")
    if burst is not None and not (isinstance(burst, int) and not isinstance(burst, bool)):
        raise ConfigurationError(f"{where}: 'burst' must be a whole number of requests")
    if burst is not None and burst < 1:
        raise ConfigurationError(f"{where}: 'burst' must be at least 1")
    return ApiKey(
        source,
        digest,
        frozenset(streams),
        expires=expires,
        rate=None if rate is None else float(rate),
        burst=burst,
    )


def _stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _read(path: Path) -> list[ApiKey]:
    """The keys of a file; a missing file has none."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read: {exc}") from None
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ConfigurationError(f'{path}: expected {{"keys": [...]}}')
    return [_check(e, f"{path} key #{i}") for i, e in enumerate(data["keys"])]


class KeyStore:
    """Look-up of a presented key by its hash; follows its file when loaded from one."""

    def __init__(
        self,
        keys: Iterable[ApiKey],
        *,
        path: Path | None = None,
        stamp: Stamp | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._by_hash = {k.sha256: k for k in keys}
        self.path = path
        self._stamp = stamp
        self._clock = clock
        self._checked_at = clock()
        self.on_reload: Callable[[bool], None] | None = None
        """Called after each reload attempt: True when the new keys are in use."""
        self.stale = False
        """True while the file's latest version failed to load (older keys in use)."""

    def __len__(self) -> int:
        return len(self._by_hash)

    def __iter__(self) -> Iterator[ApiKey]:
        return iter(list(self._by_hash.values()))

    @classmethod
    def load(cls, path: Path, *, clock: Callable[[], float] = time.monotonic) -> KeyStore:
        """Read a keys file; a missing file is an empty store (every request gets 401).

        A file that does not parse is an error here, at start; later, while serving, it
        keeps the keys already loaded (see :meth:`refresh`).
        """
        stamp = _stamp(path)  # before reading: a change after it is seen next time
        return cls(_read(path), path=path, stamp=stamp, clock=clock)

    def refresh(self, *, force: bool = False) -> bool:
        """Reload the file if its stat changed (checked at most once a second).

        True when new keys were loaded. A file that fails to parse is logged, reported
        through ``on_reload(False)`` and not retried until it changes again.
        """
        if self.path is None:
            return False
        now = self._clock()
        if not force and 0 <= now - self._checked_at < RELOAD_CHECK_S:
            return False
        self._checked_at = now
        try:
            stamp = _stamp(self.path)
        except OSError as exc:
            log.error("API keys file %s: cannot stat (%s); keeping the keys loaded", self.path, exc)
            return False
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            keys = _read(self.path)
        except ConfigurationError as exc:
            log.error("API keys file not reloaded, keeping %d keys: %s", len(self), exc)
            self.stale = True
            if self.on_reload is not None:
                self.on_reload(False)
            return False
        before = set(self._by_hash)
        self._by_hash = {k.sha256: k for k in keys}
        self.stale = False
        after = set(self._by_hash)
        log.info(
            "API keys reloaded from %s: %d keys (%d added, %d removed)",
            self.path,
            len(after),
            len(after - before),
            len(before - after),
        )
        if self.on_reload is not None:
            self.on_reload(True)
        return True

    def authenticate(self, raw: str) -> ApiKey | None:
        """The key's permissions (expired or not), or None for an unknown key."""
        self.refresh()
        return self._by_hash.get(hash_key(raw))

    def keys(self) -> list[ApiKey]:
        """Every key, for writing the file back."""
        return list(self._by_hash.values())


def _write(path: Path, keys: Iterable[ApiKey]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    # Written whole, then renamed: a gateway reading it never sees half a file.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(orjson.dumps({"keys": [k.to_json() for k in keys]}, option=orjson.OPT_INDENT_2))
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def add_key(
    path: Path,
    source: str,
    streams: Iterable[str],
    *,
    expires: datetime | None = None,
    rate: float | None = None,
    burst: int | None = None,
) -> str:
    """Create a key for ``source``, store its hash in ``path``, return the raw key (once)."""
    raw = secrets.token_urlsafe(32)
    entry: dict[str, object] = {
        "source": source,
        "sha256": hash_key(raw),
        "streams": list(streams),
        "expires": None if expires is None else expires.isoformat(),
        "rate": rate,
        "burst": burst,
    }
    key = _check(entry, "new key")
    _write(path, [*KeyStore.load(path).keys(), key])
    return raw


def revoke_keys(
    path: Path, *, source: str | None = None, sha256_prefix: str | None = None
) -> list[ApiKey]:
    """Remove every key of ``source`` and/or the one key whose hash starts with the prefix.

    Given both, a key must match both. Returns what was removed; nothing matching, or a
    prefix that matches several keys, is an error and the file is left as it was.
    """
    if source is None and sha256_prefix is None:
        raise ConfigurationError("name a source, a sha256 prefix, or both")
    prefix = None
    if sha256_prefix is not None:
        prefix = sha256_prefix.strip().lower()
        if not _PREFIX.match(prefix):
            raise ConfigurationError(
                f"a sha256 prefix is {MIN_PREFIX_HEX} to 64 hex characters, got {sha256_prefix!r}"
            )
    keys = KeyStore.load(path).keys()
    doomed = [
        k
        for k in keys
        if (source is None or k.source == source)
        and (prefix is None or k.sha256.startswith(prefix))
    ]
    if not doomed:
        raise ConfigurationError(f"{path}: no key matches")
    if prefix is not None and len(doomed) > 1:
        raise ConfigurationError(
            f"{path}: the prefix {prefix} matches {len(doomed)} keys; give more characters"
        )
    gone = {k.sha256 for k in doomed}
    _write(path, [k for k in keys if k.sha256 not in gone])
    return doomed
