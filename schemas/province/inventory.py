"""A province's own inventory: one CSV row per device, merged into a profile.

The shipped profiles hold illustrative entities; a province loads its real ones with
``ioc db load-entities --inventory FILE.csv`` (docs/sink.md, "Loading your own
inventory"; an example is docs/examples/inventory-binh-phuoc.csv). Columns:

- always: ``kind`` (segment, sensor, feeder, meter, checkpoint, agency), ``id``,
  ``latitude``, ``longitude`` and ``commune``, the official (GSO) code of an area of the
  profile. A device sits in a commune; an agency names the area it serves (the province
  or a district for a department). A sensor is where its segment is: its ``commune``
  may be left blank and, if given, must be the segment's.
- ``name``: segments, feeders, check-points and agencies (sensors and meters have none
  in the model: the cell may be filled but is not loaded).
- ``parent``: the segment of a sensor, the feeder of a meter.
- by kind, as in :mod:`schemas.province.entities`: a segment's ``road``, ``road_class``
  and ``free_flow_kmh``; a sensor's ``lanes`` and ``period_s`` (default 60); a meter's
  ``customer_class``, ``phases``, ``register_max_kwh``, ``nominal_voltage_v`` (default
  220) and ``period_s`` (default 60); a check-point's ``checkpoint_kind``; an agency's
  ``level`` (default: the level of its area).

A cell in a column that does not apply to its row's kind must be blank (a shifted
column is caught, not loaded). Other columns are refused, except ``note`` and any
whose header starts with ``x_`` (the province's own bookkeeping). UTF-8 with or
without a BOM (Excel's "CSV UTF-8"), CRLF or LF, comma, semicolon or tab delimited;
with a semicolon or a tab, a decimal comma is read too.

The result is the profile with the inventory's entities **replacing** the profile's
entities of each kind present in the file; kinds absent keep the profile's. Replacing
segments replaces sensors too, and feeders meters: the illustrative sensors of the
shipped profile sit on illustrative segments. Areas, calendar and rules are the
profile's. Every problem is reported at once (up to :data:`MAX_PROBLEMS`) with its
file, row (the header is row 1, as a spreadsheet numbers them) and column.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from schemas.errors import ContractError
from schemas.province.bounds import Bounds, bounds_of, shipped_geojson
from schemas.province.entities import (
    ID_FIELD,
    Agency,
    Checkpoint,
    EnergyMeter,
    Entity,
    EntityKind,
    Feeder,
    RoadSegment,
    TrafficSensor,
)
from schemas.province.profile import Profile

MAX_PROBLEMS = 50
BASE_COLUMNS = ("kind", "id", "name", "latitude", "longitude", "commune", "parent")
MODELS: dict[EntityKind, type[BaseModel]] = {
    EntityKind.SEGMENT: RoadSegment,
    EntityKind.SENSOR: TrafficSensor,
    EntityKind.FEEDER: Feeder,
    EntityKind.METER: EnergyMeter,
    EntityKind.CHECKPOINT: Checkpoint,
    EntityKind.AGENCY: Agency,
}
KIND_COLUMNS: dict[EntityKind, dict[str, str]] = {
    # CSV column -> model field, beyond id, latitude and longitude.
    EntityKind.SEGMENT: {"name": "name", "commune": "area_code", "road": "road",
                         "road_class": "road_class", "free_flow_kmh": "free_flow_kmh"},
    EntityKind.SENSOR: {"parent": "segment_id", "lanes": "lanes", "period_s": "period_s"},
    EntityKind.FEEDER: {"name": "name", "commune": "area_code"},
    EntityKind.METER: {"parent": "feeder_id", "commune": "area_code",
                       "customer_class": "customer_class", "phases": "phases",
                       "nominal_voltage_v": "nominal_voltage_v",
                       "register_max_kwh": "register_max_kwh", "period_s": "period_s"},
    EntityKind.CHECKPOINT: {"name": "name", "commune": "area_code",
                            "checkpoint_kind": "kind"},
    EntityKind.AGENCY: {"name": "name", "commune": "area_code", "level": "level"},
}  # fmt: skip
COLUMNS = tuple(dict.fromkeys([*BASE_COLUMNS, *(c for m in KIND_COLUMNS.values() for c in m)]))
INTEGERS = frozenset({"lanes", "period_s", "phases"})
DECIMALS = frozenset({"latitude", "longitude", "free_flow_kmh", "nominal_voltage_v",
                      "register_max_kwh"})  # fmt: skip
PARENT = {EntityKind.SENSOR: EntityKind.SEGMENT, EntityKind.METER: EntityKind.FEEDER}
CHILD = {parent: child for child, parent in PARENT.items()}


@dataclass(frozen=True, slots=True)
class Problem:
    row: int
    column: str
    message: str


class InventoryError(ContractError):
    """An inventory CSV does not fit its profile; ``problems`` lists every finding."""

    def __init__(self, file: str, problems: Sequence[Problem]) -> None:
        shown = list(problems[:MAX_PROBLEMS])
        more = f"\n  … and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        lines = "\n".join(
            f"  {file}"
            + (f", row {p.row}" if p.row else "")
            + (f", column {p.column}" if p.column else "")
            + f": {p.message}"
            for p in shown
        )
        super().__init__(
            "invalid_inventory",
            f"inventory {file}: {len(problems)} problem(s)\n{lines}{more}",
            tuple(dict.fromkeys(p.column for p in shown if p.column)),
        )
        self.file = file
        self.problems = shown


@dataclass(frozen=True, slots=True)
class Inventory:
    profile: Profile
    """The profile with the inventory's entities: what ``load_entities`` writes."""
    counts: dict[EntityKind, int]
    """Entities of each kind in the result."""
    replaced: frozenset[EntityKind]
    """Kinds whose entities come from the inventory (the rest are the profile's)."""


def _rows(data: bytes, file: str) -> tuple[list[str], list[list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problem = Problem(0, "", f"not UTF-8 at byte {exc.start} (save it as 'CSV UTF-8')")
        raise InventoryError(file, [problem]) from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error as exc:  # a cell over the csv module's limit, a stray NUL, ...
        raise InventoryError(file, [Problem(reader.line_num, "", f"not CSV: {exc}")]) from None
    if not records:
        raise InventoryError(file, [Problem(1, "", "the file is empty")])
    return [h.strip().lower() for h in records[0]], records[1:]


def read_inventory(
    data: bytes, profile: Profile, file: str = "inventory.csv", bounds: Bounds | None = None
) -> Inventory:
    """Validate an inventory CSV against a profile and merge it (see the module doc)."""
    header, records = _rows(data, file)
    bounds = bounds or bounds_of(profile)
    decimal_comma = b";" in data.split(b"\n", 1)[0] or b"\t" in data.split(b"\n", 1)[0]
    problems: list[Problem] = []
    unknown = [h for h in header if h not in COLUMNS and h != "note" and not h.startswith("x_")]
    problems += [Problem(1, h, "unknown column (extra columns: 'note' or 'x_…')") for h in unknown]
    problems += [Problem(1, c, "missing column") for c in BASE_COLUMNS[:6] if c not in header]
    if len(set(header)) != len(header):
        problems.append(Problem(1, "", "a column appears twice"))
    if problems:
        raise InventoryError(file, problems)
    areas = {a.code: a for a in profile.areas.areas}
    found: dict[EntityKind, list[tuple[int, Entity]]] = {kind: [] for kind in EntityKind}
    seen: dict[tuple[EntityKind, str], int] = {}
    communes: dict[int, str] = {}
    for number, record in enumerate(records, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            problems.append(
                Problem(number, "", f"{len(record)} cells, the header has {len(header)}")
            )
            continue
        row = {h: cell.strip() for h, cell in zip(header, record, strict=True)}
        communes[number] = row["commune"]
        point = [_number(row[c], decimal_comma) for c in ("latitude", "longitude")]
        if None not in point and not bounds.contains(*point):  # type: ignore[arg-type]
            south, west, north, east = bounds.box
            problems.append(
                Problem(
                    number,
                    "latitude/longitude",
                    f"({point[0]}, {point[1]}) is outside the province "
                    f"(box {south:.3f}–{north:.3f} N, {west:.3f}–{east:.3f} E"
                    f"{', and its boundary' if bounds.polygons else ''})",
                )
            )
        entity = _entity(number, row, areas, profile.areas.levels[-1], decimal_comma, problems)
        if entity is None:
            continue
        kind = EntityKind(row["kind"].lower())
        entity_id = Profile.id_of(kind, entity)
        if (kind, entity_id) in seen:
            problems.append(
                Problem(
                    number, "id", f"{kind} {entity_id} is also on row {seen[(kind, entity_id)]}"
                )
            )
            continue
        seen[(kind, entity_id)] = number
        found[kind].append((number, entity))
    if not problems and not any(found.values()):
        problems.append(Problem(2, "", "no device rows under the header"))
    replaced = frozenset(k for k in EntityKind if found[k] or (k in PARENT and found[PARENT[k]]))
    result = {
        k: [e for _, e in found[k]] if k in replaced else list(profile.entities(k))
        for k in EntityKind
    }
    for child, parent in PARENT.items():
        parents = {Profile.id_of(parent, e): e for e in result[parent]}
        where = (
            f"not in the inventory (which replaces the profile's {parent}s)"
            if parent in replaced
            else "neither in the inventory nor in the profile"
        )
        for number, entity in found[child]:
            parent_id = getattr(entity, ID_FIELD[parent])
            if parent_id not in parents:
                problems.append(Problem(number, "parent", f"{parent} {parent_id} is {where}"))
                continue
            area = str(getattr(parents[parent_id], "area_code", ""))
            if child is EntityKind.SENSOR and communes[number] not in ("", area):
                problems.append(
                    Problem(
                        number,
                        "commune",
                        f"a sensor is where its segment is: "
                        f"{parent_id} is in {area}, not {communes[number]} (leave it blank)",
                    )
                )
    if problems:
        raise InventoryError(file, problems)
    data_ = {name: getattr(profile, name) for name in Profile.model_fields}
    data_ |= {"agencies" if k is EntityKind.AGENCY else f"{k}s": result[k] for k in EntityKind}
    data_["illustrative"] = profile.illustrative and replaced != frozenset(EntityKind)
    try:
        merged = Profile.model_validate(data_)
    except ValidationError as exc:  # the checks above should leave nothing for this
        raise InventoryError(file, [Problem(0, "", str(exc))]) from None
    return Inventory(merged, {k: len(result[k]) for k in EntityKind}, replaced)


def _number(cell: str, decimal_comma: bool) -> float | None:
    try:
        value = float(cell.replace(",", ".") if decimal_comma else cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _entity(
    number: int,
    row: dict[str, str],
    areas: dict[str, Any],
    finest: str,
    decimal_comma: bool,
    problems: list[Problem],
) -> Entity | None:
    before = len(problems)
    try:
        kind = EntityKind(row["kind"].lower())
    except ValueError:
        problems.append(
            Problem(
                number,
                "kind",
                f"{row['kind']!r} is not one of {', '.join(k.value for k in EntityKind)}",
            )
        )
        return None
    columns = {
        "id": ID_FIELD[kind],
        "latitude": "latitude",
        "longitude": "longitude",
        **KIND_COLUMNS[kind],
    }
    usable = set(columns) | {"kind", "name", "commune", "note"}
    for column, value in row.items():
        if value and column not in usable and not column.startswith("x_"):
            problems.append(Problem(number, column, f"does not apply to a {kind} (leave it blank)"))
    commune = row.get("commune", "")
    if commune and commune not in areas:
        problems.append(Problem(number, "commune", f"{commune} is not an area of the profile"))
    elif commune and kind is not EntityKind.AGENCY and areas[commune].level != finest:
        problems.append(
            Problem(
                number,
                "commune",
                f"{commune} is a {areas[commune].level}: a "
                f"{kind} is in an area of the finest level ({finest})",
            )
        )
    values: dict[str, Any] = {}
    for column, field in columns.items():
        value = row.get(column, "")
        if not value:
            continue  # missing: the model's default, or its "field required"
        if column in DECIMALS and decimal_comma:
            value = value.replace(",", ".")
        if column in INTEGERS and value.lstrip("-").isdigit():
            values[field] = int(value)
        else:
            values[field] = value
    if kind is EntityKind.AGENCY and "level" not in values and commune in areas:
        values["level"] = areas[commune].level
    if kind is EntityKind.AGENCY and commune in areas and values["level"] != areas[commune].level:
        problems.append(
            Problem(
                number, "level", f"{values['level']!r} but {commune} is a {areas[commune].level}"
            )
        )
    field_to_column = {field: column for column, field in columns.items()}
    try:
        entity = MODELS[kind].model_validate(values)
    except ValidationError as exc:
        for item in exc.errors(include_url=False, include_input=False):
            field = str(item["loc"][0]) if item["loc"] else ""
            problems.append(Problem(number, field_to_column.get(field, field), item["msg"]))
        return None
    assert isinstance(
        entity, RoadSegment | TrafficSensor | Feeder | EnergyMeter | Checkpoint | Agency
    )
    return entity if len(problems) == before else None


def load_inventory(path: Path, profile: Profile) -> Inventory:
    """Read and merge an inventory file, bounded by the profile's shipped shapes if real."""
    return read_inventory(
        path.read_bytes(), profile, str(path), bounds_of(profile, shipped_geojson(profile.name))
    )
