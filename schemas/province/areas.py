"""Administrative areas: a versioned hierarchy of any depth, keyed by official codes.

Before July 2025 Vietnam had three tiers (province → district → commune); since then
two (province → commune). Nothing here assumes a level name or a depth: a hierarchy
lists its levels top-down and every area names its parent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

from pydantic import Field, model_validator

from schemas.base import Code, Contract


class Area(Contract):
    code: Code = Field(description="Official code (General Statistics Office), from a kept package")
    name: str = Field(min_length=1, max_length=200, description="A label; joins use codes")
    level: Code = Field(
        description="One of the hierarchy's levels, e.g. province, district, commune"
    )
    parent_code: Code | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    valid_from: date | None = None
    valid_to: date | None = None


class AreaHierarchy(Contract):
    """A consistent set of areas: one root, known levels, parents one level up."""

    name: str = Field(description="e.g. 'binh-phuoc-2021' or 'dong-nai-2025'")
    levels: list[Code] = Field(min_length=1, description="Level names, top-down")
    areas: list[Area]

    @model_validator(mode="after")
    def _consistent(self) -> AreaHierarchy:
        by_code = {a.code: a for a in self.areas}
        if len(by_code) != len(self.areas):
            raise ValueError("area codes must be unique")
        if len(set(self.levels)) != len(self.levels):
            raise ValueError("level names must be unique")
        depth = {level: i for i, level in enumerate(self.levels)}
        for area in self.areas:
            if area.level not in depth:
                raise ValueError(f"area {area.code}: unknown level {area.level!r}")
            if depth[area.level] == 0:
                if area.parent_code is not None:
                    raise ValueError(f"area {area.code}: a top-level area has no parent")
                continue
            parent = by_code.get(area.parent_code or "")
            if parent is None:
                raise ValueError(
                    f"area {area.code}: parent {area.parent_code!r} is not in the hierarchy"
                )
            if depth[parent.level] != depth[area.level] - 1:
                raise ValueError(f"area {area.code}: parent {parent.code} is not one level up")
        roots = [a for a in self.areas if a.level == self.levels[0]]
        if len(roots) != 1:
            raise ValueError(f"a hierarchy has exactly one root, found {len(roots)}")
        return self

    def by_code(self, code: str) -> Area:
        """The area with this code."""
        for area in self.areas:
            if area.code == code:
                return area
        raise KeyError(code)

    def ancestors(self, code: str) -> Iterator[Area]:
        """The area itself, then its parent, up to the root."""
        index = {a.code: a for a in self.areas}
        current: Area | None = index[code]
        while current is not None:
            yield current
            current = index.get(current.parent_code) if current.parent_code else None

    def path(self, code: str) -> dict[str, str]:
        """{level: code} from the root down to this area, for per-level rollups."""
        return {a.level: a.code for a in reversed(list(self.ancestors(code)))}

    def at_level(self, level: str) -> Iterable[Area]:
        """Areas of one level."""
        return (a for a in self.areas if a.level == level)
