"""A province's own inventory CSV: read, checked against the profile, merged into it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ioc.cli import app
from ioc.settings import PROJECT_ROOT
from schemas.errors import ContractError, IocError
from schemas.province.bounds import bounds_of, shipped_geojson
from schemas.province.entities import EntityKind
from schemas.province.inventory import (
    MAX_PROBLEMS,
    InventoryError,
    Problem,
    load_inventory,
    read_inventory,
)
from schemas.province.loading import load_profile
from schemas.province.profile import Profile

pytestmark = pytest.mark.unit

EXAMPLE = PROJECT_ROOT / "docs" / "examples" / "inventory-binh-phuoc.csv"
HEADER = "kind,id,name,latitude,longitude,commune,parent"


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile("binh-phuoc-2021")


def problems(data: str | bytes, profile: Profile) -> list[Problem]:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(InventoryError) as caught:
        read_inventory(raw, profile, "mine.csv")
    return caught.value.problems


def where(found: list[Problem]) -> set[tuple[int, str]]:
    return {(p.row, p.column) for p in found}


def test_the_example_loads_and_replaces_every_kind(profile: Profile) -> None:
    result = load_inventory(EXAMPLE, profile)
    assert result.replaced == frozenset(EntityKind)
    assert result.counts == {
        EntityKind.SEGMENT: 4, EntityKind.SENSOR: 5, EntityKind.FEEDER: 2,
        EntityKind.METER: 5, EntityKind.CHECKPOINT: 3, EntityKind.AGENCY: 3,
    }  # fmt: skip
    merged = result.profile
    assert merged.areas == profile.areas
    assert merged.rules == profile.rules
    assert merged.name == profile.name
    assert not merged.illustrative
    assert merged.area_of("sensor", "VDS-QL14-DXO-01-N") == "25195"  # its segment's commune
    assert merged.group_of("meter", "PC03EE0012347") == "E14-4-471"
    meter = merged.entity("meter", "PC03EE0012347")
    assert (meter.period_s, meter.nominal_voltage_v, meter.phases) == (15, 380.0, 3)  # type: ignore[union-attr]
    defaulted = merged.entity("meter", "PC03EE0012345")
    assert (defaulted.period_s, defaulted.nominal_voltage_v) == (60, 220.0)  # type: ignore[union-attr]
    assert merged.entity("agency", "AG-70-TTPVHCC").level == "province"  # type: ignore[union-attr]
    assert merged.segment("DT741-DXO-01").name == "ĐT741 đoạn qua Phường Tân Đồng"


def test_absent_kinds_keep_the_profile_and_a_parent_may_come_from_it(profile: Profile) -> None:
    text = f"{HEADER},lanes\nsensor,NEW-A,,11.44401,106.61827,,QL13-01,2\n"
    result = read_inventory(text.encode(), profile)
    assert result.replaced == {EntityKind.SENSOR}
    assert [s.sensor_id for s in result.profile.sensors] == ["NEW-A"]
    assert result.profile.segments == profile.segments
    assert result.profile.meters == profile.meters
    assert result.profile.illustrative


def test_replacing_feeders_replaces_meters_too(profile: Profile) -> None:
    text = f"{HEADER}\nfeeder,F-1,Lộ 471,11.52,106.91,25204,\n"
    result = read_inventory(text.encode(), profile)
    assert result.replaced == {EntityKind.FEEDER, EntityKind.METER}
    assert result.counts[EntityKind.METER] == 0


def test_bom_crlf_semicolons_and_decimal_commas(profile: Profile) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    expected = read_inventory(text.encode(), profile).profile
    excel = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()
    assert read_inventory(excel, profile).profile == expected
    lines = [line.split(",") for line in text.splitlines()]
    semicolons = "\r\n".join(";".join(cells) for cells in lines).replace(".", ",")
    assert read_inventory(semicolons.encode("utf-8-sig"), profile).profile == expected


def test_vietnamese_names_are_kept_composed(profile: Profile) -> None:
    decomposed = "Cho\u031b\u0323 Đô\u0300ng Xoa\u0300i"  # "Chợ Đồng Xoài", NFD
    text = f"{HEADER},checkpoint_kind\ncheckpoint,C-1,{decomposed},11.537,106.899,25195,,market\n"
    checkpoint = read_inventory(text.encode(), profile).profile.checkpoints[0]
    assert checkpoint.name == "Chợ Đồng Xoài"


def test_every_problem_is_named_by_file_row_and_column(profile: Profile) -> None:
    text = (
        f"{HEADER},lanes,road,road_class,free_flow_kmh,customer_class,phases,register_max_kwh\n"
        "segment,S-1,Đường A,11.53,106.89,25195,,,QL14,national,60,,,\n"  # fine
        "segment,S-1,Đường B,11.53,106.89,25195,,,QL14,national,60,,,\n"  # duplicate id
        "sensor,T-1,,11.53,106.89,,S-9,2,,,,,,\n"  # unknown segment
        "meter,M-1,,11.53,106.89,99999,QL13-01,,,,,residential,2,1000\n"  # commune, phases
        "checkpoint,C-1,Chợ,21.03,105.85,25195,,,,,,,,\n"  # Hà Nội; no checkpoint_kind column
        "sensor,T-2,,11.53,106.89,25204,S-1,0,,,,,,\n"  # lanes 0, commune not its segment's
        "lamp,L-1,,11.53,106.89,25195,,,,,,,,\n"  # unknown kind
        "feeder,F-1,Lộ,11.53,106.89,689,,3,,,,,,\n"  # a district; a sensor's column
    )
    found = problems(text, profile)
    assert where(found) == {
        (3, "id"),
        (4, "parent"),
        (5, "commune"), (5, "phases"),
        (6, "latitude/longitude"), (6, "checkpoint_kind"),
        (7, "lanes"),
        (8, "kind"),
        (9, "commune"), (9, "lanes"),
    }  # fmt: skip
    by_row = {(p.row, p.column): p.message for p in found}
    assert "also on row 2" in by_row[(3, "id")]
    assert "segment S-9 is not in the inventory" in by_row[(4, "parent")]
    assert "99999 is not an area" in by_row[(5, "commune")]
    assert "outside the province" in by_row[(6, "latitude/longitude")]
    assert "Field required" in by_row[(6, "checkpoint_kind")]  # the model's "kind"
    assert "689 is a district" in by_row[(9, "commune")]
    assert "does not apply to a feeder" in by_row[(9, "lanes")]


def test_the_message_lists_file_row_and_column(profile: Profile) -> None:
    text = f"{HEADER}\nfeeder,F-1,Lộ,11.53,106.89,99999,\n"
    with pytest.raises(InventoryError) as caught:
        read_inventory(text.encode(), profile, "mine.csv")
    error = caught.value
    assert isinstance(error, ContractError)
    assert isinstance(error, IocError)
    assert "mine.csv, row 2, column commune: 99999 is not an area" in str(error)
    assert error.reason == "invalid_inventory"
    assert error.fields == ("commune",)


def test_a_sensor_on_a_profile_segment_the_inventory_replaces(profile: Profile) -> None:
    text = (
        f"{HEADER},lanes,road,road_class,free_flow_kmh\n"
        "segment,S-1,Đường A,11.53,106.89,25195,,,QL14,national,60\n"
        "sensor,T-1,,11.53,106.89,,QL13-01,2,,,\n"
    )
    (found,) = problems(text, profile)
    assert (found.row, found.column) == (3, "parent")
    assert "replaces the profile's segments" in found.message


def test_a_meter_whose_feeder_is_nowhere(profile: Profile) -> None:
    text = (
        f"{HEADER},customer_class,phases,register_max_kwh\n"
        "meter,M-1,,11.53,106.89,25195,NO-SUCH,residential,1,99999\n"
    )
    (found,) = problems(text, profile)
    assert (found.row, found.column) == (2, "parent")
    assert "neither in the inventory nor in the profile" in found.message


def test_header_problems_come_first(profile: Profile) -> None:
    found = problems("kind,id,lat,longitude,commune,x_serial,note\n", profile)
    assert where(found) == {(1, "lat"), (1, "latitude"), (1, "name")}


def test_not_utf8_empty_and_ragged_rows(profile: Profile) -> None:
    (bad,) = problems(f"{HEADER}\nfeeder,F-1,Lô,11.53,106.89,25195,\n".encode("latin-1"), profile)
    assert "not UTF-8" in bad.message
    assert "CSV UTF-8" in bad.message
    (empty,) = problems(b"", profile)
    assert "empty" in empty.message
    (header_only,) = problems(f"{HEADER}\r\n\r\n", profile)
    assert "no device rows" in header_only.message
    (ragged,) = problems(f"{HEADER}\nfeeder,F-1\n\n", profile)
    assert (ragged.row, ragged.message) == (2, "2 cells, the header has 7")


def test_problems_are_capped_in_the_message(profile: Profile) -> None:
    rows = "".join(f"feeder,F-{i},Lộ,11.53,106.89,99999,\n" for i in range(MAX_PROBLEMS + 5))
    with pytest.raises(InventoryError) as caught:
        read_inventory(f"{HEADER}\n{rows}".encode(), profile)
    assert len(caught.value.problems) == MAX_PROBLEMS
    assert "… and 5 more" in str(caught.value)


def test_the_shipped_shapes_are_schematic_so_the_box_bounds(profile: Profile) -> None:
    bounds = bounds_of(profile, shipped_geojson(profile.name))
    assert bounds.polygons == ()
    assert bounds.contains(11.75, 106.72)
    assert not bounds.contains(10.78, 106.70)


def test_a_real_boundary_bounds_tighter_than_the_box(profile: Profile) -> None:
    square = [[106.5, 11.4], [107.3, 11.4], [107.3, 12.1], [106.5, 12.1], [106.5, 11.4]]
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "70", "properties": {"code": "70"},
         "geometry": {"type": "Polygon", "coordinates": [square]}},
    ]}  # fmt: skip
    bounds = bounds_of(profile, json.dumps(doc).encode())
    assert bounds.polygons
    assert bounds.contains(11.75, 106.9)  # inside
    assert bounds.contains(11.75, 106.45)  # 5 km outside the edge: within the margin
    assert not bounds.contains(11.75, 106.35)  # 16 km out, yet inside the areas' box
    assert bounds_of(profile).contains(11.75, 106.35)


RUNNER = CliRunner()


def test_cli_dry_run_counts_without_clickhouse(tmp_path: Path) -> None:
    out = tmp_path / "mine.json"
    result = RUNNER.invoke(
        app,
        ["db", "load-entities", "--inventory", str(EXAMPLE), "--dry-run",
         "--write-profile", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "segment: 4 (from the inventory)" in result.output
    assert "meter: 5 (from the inventory)" in result.output
    assert "nothing written to ClickHouse" in result.output
    written = load_profile(out)
    assert [m.meter_id for m in written.meters][:1] == ["PC03EE0012345"]


def test_cli_dry_run_fails_with_the_list(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEADER}\nfeeder,F-1,Lộ,11.53,106.89,99999,\n", encoding="utf-8")
    result = RUNNER.invoke(app, ["db", "load-entities", "--inventory", str(bad), "--dry-run"])
    assert result.exit_code == 1
    assert isinstance(result.exception, InventoryError)
    assert "row 2, column commune" in str(result.exception)


def test_a_cell_too_large_for_csv_is_a_problem_of_its_row_not_a_crash(profile: Profile) -> None:
    data = f"{HEADER}\nmeter,EM-X,".encode() + b"x" * 200_000 + b",11.5,106.9,1,\n"
    (found,) = problems(data, profile)
    assert found.row == 2
    assert "not CSV" in found.message
