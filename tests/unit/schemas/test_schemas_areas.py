"""Administrative areas: hierarchies of any depth, consistency rules, paths to the root."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from schemas_strategies import FAST, VIETNAMESE

from schemas.codec import decode
from schemas.errors import ContractError
from schemas.province.areas import Area, AreaHierarchy

pytestmark = pytest.mark.unit


def _area(code: str, name: str, level: str, parent: str | None = None) -> dict[str, Any]:
    return {"code": code, "name": name, "level": level, "parent_code": parent}


# Binh Phuoc before July 2025: province → district → commune.
THREE_LEVELS: dict[str, Any] = {
    "name": "binh-phuoc-2021",
    "levels": ["province", "district", "commune"],
    "areas": [
        _area("70", "Tỉnh Bình Phước", "province"),
        _area("689", "Thành phố Đồng Xoài", "district", "70"),
        _area("691", "Huyện Bù Đăng", "district", "70"),
        _area("25195", "Phường Tân Phú", "commune", "689"),
        _area("25210", "Xã Tiến Hưng", "commune", "689"),
        _area("25432", "Xã Đức Liễu", "commune", "691"),
    ],
}

# Dong Nai since July 2025: province → commune.
TWO_LEVELS: dict[str, Any] = {
    "name": "dong-nai-2025",
    "levels": ["province", "commune"],
    "areas": [
        _area("75", "Tỉnh Đồng Nai", "province"),
        _area("25195", "Phường Đồng Xoài", "commune", "75"),
        _area("26068", "Phường Trấn Biên", "commune", "75"),
    ],
}


@pytest.mark.parametrize("payload", [THREE_LEVELS, TWO_LEVELS], ids=["3-level", "2-level"])
def test_real_hierarchies_validate(payload: dict[str, Any]) -> None:
    hierarchy = decode(AreaHierarchy, payload, strict=True)
    assert [a.code for a in hierarchy.areas] == [a["code"] for a in payload["areas"]]
    assert decode(AreaHierarchy, hierarchy.model_dump_json()) == hierarchy


def test_path_three_levels() -> None:
    hierarchy = AreaHierarchy.model_validate(THREE_LEVELS)
    assert hierarchy.path("25432") == {"province": "70", "district": "691", "commune": "25432"}
    assert hierarchy.path("689") == {"province": "70", "district": "689"}
    assert hierarchy.path("70") == {"province": "70"}
    assert [a.code for a in hierarchy.ancestors("25195")] == ["25195", "689", "70"]
    assert {a.code for a in hierarchy.at_level("district")} == {"689", "691"}
    assert hierarchy.by_code("691").name == "Huyện Bù Đăng"


def test_path_two_levels() -> None:
    hierarchy = AreaHierarchy.model_validate(TWO_LEVELS)
    assert hierarchy.path("26068") == {"province": "75", "commune": "26068"}
    assert list(hierarchy.at_level("district")) == []


def test_path_runs_from_the_root_down() -> None:
    hierarchy = AreaHierarchy.model_validate(THREE_LEVELS)
    assert list(hierarchy.path("25210")) == ["province", "district", "commune"]


def test_unknown_code_is_a_key_error() -> None:
    hierarchy = AreaHierarchy.model_validate(TWO_LEVELS)
    with pytest.raises(KeyError):
        hierarchy.by_code("99999")
    with pytest.raises(KeyError):
        hierarchy.path("99999")


def _with(
    payload: dict[str, Any], *areas: dict[str, Any], drop: str | None = None
) -> dict[str, Any]:
    kept = [a for a in payload["areas"] if a["code"] != drop]
    return {**payload, "areas": [*kept, *areas]}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            _with(THREE_LEVELS, _area("25999", "Xã Mồ Côi", "commune", "999")),
            "is not in the hierarchy",
        ),
        (_with(THREE_LEVELS, drop="689"), "is not in the hierarchy"),
        (_with(THREE_LEVELS, _area("25998", "Xã Sai Cấp", "commune", "70")), "not one level up"),
        (
            _with(THREE_LEVELS, _area("692", "Huyện Sai Cấp", "district", "25195")),
            "not one level up",
        ),
        (_with(THREE_LEVELS, _area("693", "Huyện Tự Cha", "district", "693")), "not one level up"),
        (_with(THREE_LEVELS, _area("25997", "Xã Không Cha", "commune")), "is not in the hierarchy"),
        (_with(THREE_LEVELS, _area("689", "Trùng mã", "district", "70")), "unique"),
        (
            _with(
                TWO_LEVELS, _area("70", "Tỉnh Bình Phước", "province"), _area("70", "x", "province")
            ),
            "unique",
        ),
        (
            _with(THREE_LEVELS, _area("25996", "Ấp Một", "hamlet", "25195")),
            "unknown level 'hamlet'",
        ),
        (_with(TWO_LEVELS, _area("689", "Thành phố Đồng Xoài", "district", "75")), "unknown level"),
        (
            _with(TWO_LEVELS, _area("76", "Tỉnh Con", "province", "75")),
            "top-level area has no parent",
        ),
        ({**TWO_LEVELS, "levels": []}, "levels"),
    ],
    ids=[
        "orphan-parent",
        "missing-parent",
        "parent-two-levels-up",
        "parent-below",
        "own-parent",
        "no-parent",
        "duplicate-code",
        "duplicate-root",
        "unknown-level",
        "level-not-in-2-tier",
        "root-with-parent",
        "no-levels",
    ],
)
def test_inconsistent_hierarchies_are_rejected(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(ContractError) as info:
        decode(AreaHierarchy, payload)
    assert info.value.reason == "validation"
    assert message in str(info.value)


def test_area_field_limits() -> None:
    ok = _area("70", "Tỉnh Bình Phước", "province")
    assert decode(Area, {**ok, "latitude": 11.54, "longitude": 106.89}).latitude == 11.54
    for field, bad in [
        ("latitude", 91),
        ("longitude", -181),
        ("name", ""),
        ("code", "Mã 70"),
        ("level", ""),
        ("valid_from", "yesterday"),
    ]:
        with pytest.raises(ContractError) as info:
            decode(Area, {**ok, field: bad})
        assert info.value.fields == (field,)


# --- any depth ----------------------------------------------------------------


@st.composite
def hierarchies(draw: st.DrawFn) -> tuple[AreaHierarchy, list[str]]:
    depth = draw(st.integers(min_value=1, max_value=5))
    levels = [f"level{i}" for i in range(depth)]
    areas: list[dict[str, Any]] = [_area("R", draw(st.sampled_from(VIETNAMESE)), levels[0])]
    frontier = ["R"]
    for level in levels[1:]:
        children: list[str] = []
        for parent in frontier:
            for n in range(draw(st.integers(min_value=1, max_value=3))):
                code = f"{parent}.{n}"
                areas.append(_area(code, draw(st.sampled_from(VIETNAMESE)), level, parent))
                children.append(code)
        frontier = children
    order = draw(st.permutations(range(len(areas))))
    hierarchy = AreaHierarchy.model_validate(
        {"name": "gen", "levels": levels, "areas": [areas[i] for i in order]}
    )
    return hierarchy, levels


@FAST
@given(generated=hierarchies())
def test_any_depth_validates_and_paths_reach_the_root(
    generated: tuple[AreaHierarchy, list[str]],
) -> None:
    hierarchy, levels = generated
    for area in hierarchy.areas:
        path = hierarchy.path(area.code)
        depth = levels.index(area.level)
        assert list(path) == levels[: depth + 1]
        assert path[levels[0]] == "R"
        assert path[area.level] == area.code
        # codes were built as parent.child, so every prefix is an ancestor
        parts = area.code.split(".")
        assert list(path.values()) == [".".join(parts[: i + 1]) for i in range(depth + 1)]


# --- 5. NFC -------------------------------------------------------------------


def test_decomposed_area_names_come_back_composed() -> None:
    payload = {
        **TWO_LEVELS,
        "areas": [
            {**a, "name": unicodedata.normalize("NFD", a["name"])} for a in TWO_LEVELS["areas"]
        ],
    }
    assert payload["areas"][1]["name"] != "Phường Đồng Xoài"
    hierarchy = decode(AreaHierarchy, payload)
    assert hierarchy.by_code("25195").name == "Phường Đồng Xoài"
    assert hierarchy == AreaHierarchy.model_validate(TWO_LEVELS)
    for area in hierarchy.areas:
        assert unicodedata.is_normalized("NFC", area.name)


def test_nfd_dong_xoai_in_an_area() -> None:
    nfd = unicodedata.normalize("NFD", "Đồng Xoài")
    assert nfd != "Đồng Xoài"
    area = Area(code="689", name=nfd, level="district", parent_code="70")
    assert area.name == "Đồng Xoài"
    assert decode(Area, area.model_dump_json()).name == "Đồng Xoài"
