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


MAX_DEPTH = 16
"""Deepest nesting a payload may have: contracts nest two levels. orjson parses up to
1,024, and validation (NFC normalisation, pydantic) and dead-lettering recurse over the
value: a payload nested hundreds of levels would exhaust Python's stack there."""


def nesting_depth_over(value: Any, limit: int) -> bool:
    """True when ``value`` nests dicts or lists more than ``limit`` levels (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _brackets(raw: bytes | str) -> int:
    if isinstance(raw, bytes):
        return raw.count(b"{") + raw.count(b"[")
    return raw.count("{") + raw.count("[")


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
    # From bytes, fewer brackets than the limit cannot nest past it: a C-speed count
    # spares the walk on the hot path (a real event has two or three).
    may_be_deep = isinstance(raw, dict) or _brackets(raw) > MAX_DEPTH
    if may_be_deep and nesting_depth_over(data, MAX_DEPTH):
        raise ContractError("too_deep", f"nested more than {MAX_DEPTH} levels")
    try:
        # ``extra="forbid"`` at validation time (not :func:`strict_model`): it reaches nested
        # models too, and the result is an instance of ``model`` itself, equal to a
        # tolerant decode of the same payload.
        return model.model_validate(data, extra="forbid" if strict else None, context=context)
    except ValidationError as exc:
        reason, fields, message = describe(exc)
        raise ContractError(reason, message, fields) from None
