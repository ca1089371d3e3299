"""API keys per source, stored as SHA-256 hashes (the raw key is shown once, never kept).

The keys file is JSON::

    {"keys": [{"source": "qr-gate-dx", "sha256": "<64 hex>", "streams": ["qr"]}]}

``"streams": ["*"]`` allows every stream. Keys are long random tokens, so a plain
SHA-256 (no salt, no slow hash) is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson

from connectors.sources.base import ConfigurationError
from connectors.sources.edge import STREAMS

ALL_STREAMS = "*"
_SOURCE = re.compile(r"^[A-Za-z0-9_.:\-/]{1,64}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def hash_key(raw: str) -> str:
    """SHA-256 hex of a raw API key."""
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """What one key may do: write as ``source`` to ``streams``."""

    source: str
    sha256: str
    streams: frozenset[str]

    def may_write(self, stream: str) -> bool:
        """True when this key may write to ``stream``."""
        return ALL_STREAMS in self.streams or stream in self.streams

    def to_json(self) -> dict[str, object]:
        """The keys-file form."""
        return {"source": self.source, "sha256": self.sha256, "streams": sorted(self.streams)}


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
    return ApiKey(source, digest, frozenset(streams))


class KeyStore:
    """Look-up of a presented key by its hash."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._by_hash = {k.sha256: k for k in keys}

    def __len__(self) -> int:
        return len(self._by_hash)

    @classmethod
    def load(cls, path: Path) -> KeyStore:
        """Read a keys file; a missing file is an empty store (every request gets 401)."""
        if not path.exists():
            return cls(())
        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise ConfigurationError(f"{path}: not valid JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise ConfigurationError(f'{path}: expected {{"keys": [...]}}')
        return cls(_check(e, f"{path} key #{i}") for i, e in enumerate(data["keys"]))

    def authenticate(self, raw: str) -> ApiKey | None:
        """The key's permissions, or None for an unknown key."""
        return self._by_hash.get(hash_key(raw))

    def keys(self) -> list[ApiKey]:
        """Every key, for writing the file back."""
        return list(self._by_hash.values())


def add_key(path: Path, source: str, streams: Iterable[str]) -> str:
    """Create a key for ``source``, store its hash in ``path``, return the raw key (once)."""
    raw = secrets.token_urlsafe(32)
    entry = _check({"source": source, "sha256": hash_key(raw), "streams": list(streams)}, "new key")
    store = KeyStore.load(path)
    keys = [*store.keys(), entry]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    # Written whole, then renamed: a gateway reading it never sees half a file.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(orjson.dumps({"keys": [k.to_json() for k in keys]}, option=orjson.OPT_INDENT_2))
    tmp.replace(path)
    return raw
