"""Build the shipped province profiles, deterministically.

Run ``python -m schemas.province.profiles.build``.

Needs the ``profiles`` extra (``pip install 'ioc-pipeline[profiles]'``; the dev lock has
it): area codes and area coordinates come from :mod:`schemas.province.admin_units` (the
vietnamadminunits package), which only the builder imports — running the pipeline
never needs it. The provinces are :mod:`schemas.province.profiles.provinces`, where places
are named, never coded; :mod:`schemas.province.profiles.placement` puts the entities in
them. Holiday notices (Tết breaks, swaps,
make-up working days) are data in ``notices/vn.json``, copied into each profile's
``calendar``; national holidays are computed at run time (:mod:`schemas.province.calendar`).
Everything else — road segments, sensors, feeders, meters, check-points, agency codes
and every coordinate — is illustrative: placed near its area with a fixed-seed jitter,
so the same script always writes the same bytes. A unit test fails when the checked-in
files differ from what this script renders; ``--check`` does the same from a shell.
"""

from __future__ import annotations

import sys
from pathlib import Path

from schemas.province.profiles.provinces import BUILDERS

PROFILES_DIR = Path(__file__).resolve().parent


def render_all() -> dict[str, str]:
    """{file name: canonical JSON text} of every shipped profile."""
    return {f"{name}.json": build().to_json_text() for name, build in BUILDERS.items()}


def main(argv: list[str]) -> int:
    """Write the profile files, or with ``--check`` exit 1 when any is stale."""
    stale = []
    for name, text in render_all().items():
        path = PROFILES_DIR / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if "--check" not in argv:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if "--check" in argv and stale:
        print(f"stale profiles: {', '.join(stale)}; run python -m schemas.province.profiles.build")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
