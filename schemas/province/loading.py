"""Finding and reading profiles: the shipped ones (package data) by name, any file by path."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from schemas.codec import describe
from schemas.errors import ContractError, IocError
from schemas.province.profile import Profile

PROFILES_PACKAGE = "schemas.province"
PROFILES_DIR = "profiles"
DEFAULT_PROFILE = "binh-phuoc-2021"


class ProfileNotFoundError(IocError, KeyError):
    """No shipped profile has that name and no file has that path."""


def available_profiles() -> list[str]:
    """Names of the profiles shipped as package data."""
    folder = resources.files(PROFILES_PACKAGE) / PROFILES_DIR
    return sorted(
        p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")
    )


def profile_from_json(text: str | bytes) -> Profile:
    """Parse and validate a profile document; ContractError names every bad field."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ContractError("invalid_json", f"profile is not valid JSON: {exc}") from None
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        reason, fields, message = describe(exc)
        raise ContractError(reason, f"invalid profile: {message}", fields) from None


def load_profile(name_or_path: str | Path = DEFAULT_PROFILE) -> Profile:
    """A shipped profile by name (``binh-phuoc-2021``) or any profile file by path."""
    path = Path(name_or_path)
    if path.suffix == ".json" or path.exists():
        return profile_from_json(path.read_bytes())
    resource = resources.files(PROFILES_PACKAGE) / PROFILES_DIR / f"{name_or_path}.json"
    if not resource.is_file():
        known = ", ".join(available_profiles())
        raise ProfileNotFoundError(f"no profile named {name_or_path!r}; shipped: {known}")
    return profile_from_json(resource.read_bytes())
