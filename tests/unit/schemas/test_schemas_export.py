"""The checked-in JSON Schema files are what the contracts render to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas import export

pytestmark = pytest.mark.unit

FIX = "JSON Schema drift: run `make schemas` and commit schemas/json/"

RENDERED = export.rendered()


def test_every_exported_contract_has_a_file() -> None:
    assert set(RENDERED) == {f"{m.__name__}.json" for m in export.EXPORTED}
    on_disk = {p.name for p in export.JSON_DIR.glob("*.json")}
    missing = sorted(set(RENDERED) - on_disk)
    stale = sorted(on_disk - set(RENDERED))
    assert not missing, f"missing {missing}. {FIX}"
    assert not stale, f"no contract renders {stale}; delete them. {FIX}"


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_schema_file_matches_the_contract(name: str) -> None:
    path = export.JSON_DIR / name
    assert path.is_file(), f"{path} does not exist. {FIX}"
    on_disk = path.read_text(encoding="utf-8")
    assert on_disk == RENDERED[name], f"{path} is out of date. {FIX}"


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_rendered_schema_is_a_2020_12_document(name: str) -> None:
    schema = json.loads(RENDERED[name])
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == name.removesuffix(".json")
    assert schema["type"] == "object"


def test_write_produces_exactly_the_rendered_files(tmp_path: Path) -> None:
    paths = export.write(tmp_path / "json")
    assert {p.name: p.read_text(encoding="utf-8") for p in paths} == RENDERED
