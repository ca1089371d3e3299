"""The province profile contract and the two shipped profile files."""

from __future__ import annotations

import json
from datetime import date

import pytest

from schemas.errors import ContractError
from schemas.province import admin_units
from schemas.province.calendar import HolidayKind
from schemas.province.entities import CheckpointKind, EntityKind
from schemas.province.loading import (
    ProfileNotFoundError,
    available_profiles,
    load_profile,
    profile_from_json,
)
from schemas.province.profile import Profile
from schemas.province.profiles import build

pytestmark = pytest.mark.unit

BP = load_profile("binh-phuoc-2021")
DN = load_profile("dong-nai-2025")


def test_shipped_files_are_what_the_build_script_renders() -> None:
    rendered = build.render_all()
    assert sorted(rendered) == [f"{n}.json" for n in available_profiles()]
    for name, text in rendered.items():
        on_disk = (build.PROFILES_DIR / name).read_text(encoding="utf-8")
        assert on_disk == text, f"{name} is stale: run python -m schemas.province.profiles.build"


def test_default_profile_has_what_the_issue_asks_for() -> None:
    assert load_profile().name == "binh-phuoc-2021"
    assert BP.illustrative
    assert "illustrative" in BP.illustrative_note
    assert BP.areas.levels == ["province", "district", "commune"]
    assert BP.rollup_levels == BP.areas.levels
    assert len(list(BP.areas.at_level("district"))) == 11
    assert len(BP.sensors) >= 40
    assert {s.road for s in BP.segments} >= {"QL13", "QL14", "ĐT741", "ĐT753"}
    assert len(BP.meters) == 200
    assert len(BP.feeders) >= 20
    assert len(BP.checkpoints) == 30
    kinds = {c.kind for c in BP.checkpoints}
    assert {CheckpointKind.GATE, CheckpointKind.HOSPITAL, CheckpointKind.MARKET} <= kinds
    assert len(BP.agencies) >= 50
    assert {a.level for a in BP.agencies} == {"province", "district", "commune"}
    assert all(20 <= s.free_flow_kmh <= 90 for s in BP.segments)
    assert {m.phases for m in BP.meters} == {1, 3}
    assert all(m.nominal_voltage_v == 220 for m in BP.meters)


def test_area_codes_come_from_the_package_not_from_hand() -> None:
    official = {a.code: a for a in admin_units.binh_phuoc_2021().areas}
    assert BP.areas.model_dump() == admin_units.binh_phuoc_2021().model_dump()
    for kind in (EntityKind.SEGMENT, EntityKind.FEEDER, EntityKind.METER, EntityKind.AGENCY):
        for entity in BP.entities(kind):
            area = official[entity.area_code]  # type: ignore[union-attr]
            # coordinates are illustrative, but near their area (≈ 1 km); provincial
            # departments sit in the capital, inside the province
            near = 0.01 if area.level != "province" else 0.5
            assert abs(entity.latitude - (area.latitude or 0)) < near
            assert abs(entity.longitude - (area.longitude or 0)) < near


def test_second_profile_is_two_tier_and_smaller() -> None:
    assert DN.areas.levels == ["province", "commune"]
    assert DN.areas.model_dump() == admin_units.dong_nai_2025().model_dump()
    assert "district" not in {a.level for a in DN.agencies}
    assert len(DN.sensors) < len(BP.sensors)
    assert len(DN.meters) < len(BP.meters)
    for agency in DN.agencies:
        assert DN.areas.by_code(agency.area_code).level == agency.level


TET_NEW_YEAR_DAY = [
    date(2021, 2, 12), date(2022, 2, 1), date(2023, 1, 22), date(2024, 2, 10),
    date(2025, 1, 29), date(2026, 2, 17), date(2027, 2, 6),
]  # fmt: skip


def test_holidays_cover_tet_and_national_days_2021_to_2027() -> None:
    for profile in (BP, DN):
        for day in TET_NEW_YEAR_DAY:
            assert profile.holiday_on(day) is not None
            assert profile.holiday_on(day).kind == HolidayKind.TET  # type: ignore[union-attr]
        for year in range(2021, 2028):
            for month, day in ((1, 1), (4, 30), (5, 1), (9, 2)):
                assert profile.holiday_on(date(year, month, day)) is not None, (year, month)
    assert BP.holiday_on(date(2027, 2, 6)).name.startswith("Tết Nguyên Đán 2027")  # type: ignore[union-attr]
    assert BP.holiday_on(date(2026, 11, 2)) is None


def test_rule_defaults_follow_the_design() -> None:
    rules = BP.rules
    assert rules.undervoltage_ratio == 0.9
    assert rules.undervoltage_for_s == 180
    assert rules.congestion_index == 0.6
    assert rules.congestion_for_s == 600
    assert rules.silence_periods == 3
    assert rules.seasonal_warmup_days == 7
    assert rules.resolve_score < rules.open_score


def test_groups_and_lookups() -> None:
    sensor = BP.sensors[0]
    assert BP.group_of("sensor", sensor.sensor_id) == sensor.segment_id
    assert BP.area_of("sensor", sensor.sensor_id) == BP.segment(sensor.segment_id).area_code
    meter = BP.meters[0]
    assert BP.group_of(EntityKind.METER, meter.meter_id) == meter.feeder_id
    assert meter.meter_id in BP.members("meter", meter.feeder_id)
    agency = BP.agencies[0]
    assert BP.group_of("agency", agency.agency_code) == agency.agency_code
    assert len(BP.entities("checkpoint")) == 30
    with pytest.raises(KeyError):
        BP.entity("meter", "EM-9999")


def _raw() -> dict[str, object]:
    data: dict[str, object] = json.loads(DN.to_json_text())
    return data


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["sensors"][0].update(segment_id="NOPE"), "unknown segment"),
        (lambda d: d["meters"][0].update(feeder_id="NOPE"), "unknown feeder"),
        (lambda d: d["checkpoints"][0].update(area_code="99999"), "unknown area"),
        (lambda d: d["meters"].append(dict(d["meters"][0])), "duplicate meter ids"),
        (lambda d: d["agencies"][-1].update(level="province"), "is a commune"),
        (lambda d: d.update(rollup_levels=["district"]), "not an area level"),
        (
            lambda d: d["calendar"]["notices"].append(dict(d["calendar"]["notices"][0])),
            "two holiday notices",
        ),
        (
            lambda d: d["calendar"]["notices"][0].update(working_days=["2031-01-04"]),
            "is not in",
        ),
        (lambda d: d["segments"][0].update(speed_limit=60), "segments.0.speed_limit"),
        (lambda d: d["rules"].update(resolve_score=9), "hysteresis"),
        (lambda d: d.update(timezone="Mars/Olympus"), "unknown time zone"),
    ],
)
def test_inconsistent_profiles_are_refused(mutate: object, message: str) -> None:
    data = _raw()
    mutate(data)  # type: ignore[operator]
    text = json.dumps(data)
    with pytest.raises(ContractError, match=message):
        profile_from_json(text)


def test_load_by_path_and_unknown_name(tmp_path: object) -> None:
    path = build.PROFILES_DIR / "dong-nai-2025.json"
    assert load_profile(path).name == "dong-nai-2025"
    assert load_profile(str(path)) == DN
    with pytest.raises(ProfileNotFoundError, match="binh-phuoc-2021"):
        load_profile("atlantis-2030")


def test_profile_round_trips() -> None:
    assert Profile.model_validate_json(BP.to_json_text()) == BP
