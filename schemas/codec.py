"""Decoding bytes into contracts with errors a dead letter (or an HTTP 422) can carry."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import ValidationError

from schemas.base import ASCII_INPUT, Contract
from schemas.errors import ContractError

C = TypeVar("C", bound=Contract)


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "<root>"


def describe(error: ValidationError) -> tuple[str, tuple[str, ...], str]:
    """(reason, fields, message) of a validation error; every bad field is named."""
    fields: list[str] = []
    parts: list[str] = []
    reason = "validation"
    for item in error.errors(include_url=False, include_input=False):
        path = _field_path(tuple(item["loc"]))
        fields.append(path)
        parts.append(f"{path}: {item['msg']}")
        if "major schema_version" in item["msg"]:
            reason = "unknown_major_version"
        elif item["type"] == "extra_forbidden":
            reason = "unknown_field" if reason == "validation" else reason
    return reason, tuple(dict.fromkeys(fields)), "; ".join(parts)


def decode(model: type[C], raw: bytes | str | dict[str, Any], *, strict: bool = False) -> C:
    """Parse and validate one payload; raise :class:`ContractError` naming the reason and fields.

    ``strict`` is for connectors (unknown fields are refused); consumers stay tolerant.
    """
    context: dict[str, bool] | None = None
    if isinstance(raw, dict):
        data = raw
    else:
        # Pure ASCII without \u escapes decodes to ASCII strings, which are NFC
        # already: the model may skip its normalisation pass (the hot path).
        escaped = "\\u" in raw if isinstance(raw, str) else b"\\u" in raw
        if raw.isascii() and not escaped:
            context = {ASCII_INPUT: True}
        try:
            data = orjson.loads(raw)
        except (orjson.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ContractError("invalid_json", f"not valid UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ContractError("invalid_json", f"expected a JSON object, got {type(data).__name__}")
    try:
        # ``extra="forbid"`` at validation time (not :func:`strict_model`): it reaches nested
        # models too, and the result is an instance of ``model`` itself, equal to a
        # tolerant decode of the same payload.
        return model.model_validate(data, extra="forbid" if strict else None, context=context)
    except ValidationError as exc:
        reason, fields, message = describe(exc)
        raise ContractError(reason, message, fields) from None
