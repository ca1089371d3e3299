"""Invented citizens and vehicles: raw identifiers made here, hashed here, never emitted.

The simulator plays a QR app and a one-stop shop, so it has raw citizen ID numbers
(12-digit CCCD) and licence plates, exactly like a real source. They go through
:class:`schemas.privacy.PiiHasher` before anything leaves this module; events carry
only the keyed hash and the key id. Raw values are derived from (seed, index), so a
test can re-create the ones a run used and prove none of them reached the output.
"""

from __future__ import annotations

import hashlib

from schemas.privacy import PiiHasher

PERSONS = 200_000
"""Distinct citizens a profile's check-points and one-stop shops see."""
VEHICLES = 60_000
DECLARATIONS = (("green", 0.955), ("yellow", 0.025), ("red", 0.005), ("unknown", 0.015))
"""Health-declaration status shares; a subject keeps its status for the run."""


def _digits(seed: int, kind: str, index: int, n: int) -> int:
    digest = hashlib.blake2b(f"{seed}|{kind}|{index}".encode(), digest_size=8).digest()
    value: int = int.from_bytes(digest, "big") % (10**n)
    return value


class IdentityBook:
    """Raw identifiers by (kind, index), their keyed hashes, and the declaration status."""

    def __init__(
        self, seed: int, hasher: PiiHasher, *, province_code: str, remember: bool = False
    ) -> None:
        self.seed = seed
        self._hasher = hasher
        # CCCD numbers start with the birth province's code (3 digits), plates with its
        # registration number; both illustrative for invented people.
        self._province = province_code.zfill(3)[-3:]
        self._plate_prefix = {"070": "93", "075": "60"}.get(self._province, "99")
        self._hashes: dict[tuple[str, int], str] = {}
        self._subjects: dict[str, tuple[str, int]] = {}
        self.used: set[tuple[str, int]] | None = set() if remember else None

    @property
    def key_id(self) -> str:
        """The id of the HMAC key that made the hashes."""
        return self._hasher.key_id

    def raw(self, kind: str, index: int) -> str:
        """The raw identifier (only tests should ever need this)."""
        if kind == "person":
            century = 0 if _digits(self.seed, "born", index, 1) < 6 else 2
            gender = _digits(self.seed, "gender", index, 1) % 2
            year = _digits(self.seed, "year", index, 2)
            serial = _digits(self.seed, kind, index, 6)
            return f"{self._province}{century + gender}{year:02d}{serial:06d}"
        number = _digits(self.seed, kind, index, 5)
        series = "ABCDEFGHKLMNPSTUVXYZ"[_digits(self.seed, "series", index, 2) % 20]
        if index % 4 == 0:  # a car: 93A-123.45
            return f"{self._plate_prefix}{series}-{number // 100:03d}.{number % 100:02d}"
        # a motorcycle: 93-B1 234.56
        return f"{self._plate_prefix}-{series}1 {number // 100:03d}.{number % 100:02d}"

    def hashed(self, kind: str, index: int) -> str:
        """The keyed hash of a subject: the only form that leaves the simulator."""
        key = (kind, index)
        found = self._hashes.get(key)
        if found is None:
            found = self._hashes[key] = self._hasher.hash(self.raw(kind, index))
            self._subjects[found] = key
            if self.used is not None:
                self.used.add(key)
        return found

    def subject_of(self, hashed: str) -> tuple[str, str]:
        """(kind, raw identifier) behind a hash this book made.

        For a client that must send what a real check-point app sends: the raw id, which
        only the connector may hash (the gateway refuses a client's pseudonym).
        """
        kind, index = self._subjects[hashed]
        return kind, self.raw(kind, index)

    def declaration(self, kind: str, index: int) -> str:
        """A subject's health-declaration status (stable for the run)."""
        u = _digits(self.seed, f"declaration-{kind}", index, 6) / 1e6
        for status, share in DECLARATIONS:
            if u < share:
                return status
            u -= share
        return "unknown"

    def raw_values_used(self) -> list[str]:
        """Every raw identifier this book hashed (needs ``remember=True``)."""
        if self.used is None:
            raise ValueError("create the book with remember=True to list raw values")
        return [self.raw(kind, index) for kind, index in sorted(self.used)]
