"""The gateway's OpenAPI 3.1 document, generated from the contracts (never hand-edited)."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from connectors.sources.edge import STREAMS
from connectors.sources.http.idempotency import IDEMPOTENCY_HEADER

_PII_NOTE = {
    "qr": "Instead of subject_hash/pii_key_id, send the raw `citizen_id` (a person) or "
    "`licence_plate` (a vehicle): the gateway replaces it with its keyed hash before "
    "anything is written. `source` defaults to the API key's source.",
    "dossier": "Instead of applicant_hash, send the raw `applicant_id`: the gateway hashes it.",
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {}}}


def _post(name: str, ref: dict[str, str]) -> dict[str, Any]:
    one_or_many = {"oneOf": [ref, {"type": "array", "items": ref, "minItems": 1}]}
    return {
        "post": {
            "summary": f"Ingest one {name} event or a batch",
            "description": (
                "Answered only after Kafka acknowledged the write (acks=all). Unknown fields "
                "are refused. event_id: the item's own, else derived from the "
                f"{IDEMPOTENCY_HEADER} header and the item's index, else from the event's "
                "content, so a retry is the same event. " + _PII_NOTE.get(name, "")
            ),
            "operationId": f"ingest_{name}",
            "security": [{"bearer": []}, {"apiKey": []}],
            "parameters": [
                {
                    "name": IDEMPOTENCY_HEADER,
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 255},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": one_or_many}},
            },
            "responses": {
                "200": _error("Every item written; event ids in the body"),
                "401": _error(
                    "No API key, an unknown one (unauthorized) or an expired one (key_expired)"
                ),
                "403": _error("The key may not write this stream"),
                "409": _error(f"{IDEMPOTENCY_HEADER} reused with a different body"),
                "413": _error("Body or batch larger than allowed"),
                "422": _error(
                    "Some items refused (named by index, reason and fields) and dead-lettered; "
                    "the others were written"
                ),
                "429": _error(
                    "Too many requests of this API key per second (rate_limited) or at once "
                    "(too_many_in_flight); retry after Retry-After seconds"
                ),
                "503": _error("Kafka unavailable; retry after Retry-After seconds"),
            },
        }
    }


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document served at /openapi.json."""
    specs = list(STREAMS.values())
    refs, defs = models_json_schema(
        [(s.model, "validation") for s in specs], ref_template="#/components/schemas/{model}"
    )
    paths: dict[str, Any] = {
        f"/v1/streams/{s.name}/events": _post(s.name, refs[(s.model, "validation")]) for s in specs
    }
    paths["/health"] = {"get": {"summary": "Liveness and Kafka readiness", "responses": {
        "200": _error("Kafka connected"), "503": _error("Kafka not connected")}}}  # fmt: skip
    paths["/metrics"] = {"get": {"summary": "Prometheus metrics", "responses": {
        "200": {"description": "text exposition format"}}}}  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": "IOC ingest gateway", "version": "1.0.0"},
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }
