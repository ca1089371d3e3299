"""Export JSON Schema files of every contract to schemas/json/.

They are checked in; a test fails when they drift from the models.
"""

from __future__ import annotations

import json
from pathlib import Path

from schemas.base import Contract
from schemas.events import EVENT_MODELS
from schemas.province.areas import AreaHierarchy
from schemas.results import Anomaly, DataQualityRecord, DeadLetter, KpiRecord

JSON_DIR = Path(__file__).resolve().parent / "json"

EXPORTED: tuple[type[Contract], ...] = (
    *EVENT_MODELS,
    KpiRecord,
    DataQualityRecord,
    Anomaly,
    DeadLetter,
    AreaHierarchy,
)


def render(model: type[Contract]) -> str:
    """The JSON Schema document of one model, as it is stored on disk."""
    schema = model.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def rendered() -> dict[str, str]:
    """{file name: content} for every exported contract."""
    return {f"{model.__name__}.json": render(model) for model in EXPORTED}


def write(directory: Path = JSON_DIR) -> list[Path]:
    """Write every schema file; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in rendered().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
