"""Edge logic: personal data hashed before validation, dead letters, the time policy.

Scrubbing free text and redacting payloads: tests/unit/schemas/test_privacy.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.sources.edge import (
    STREAMS,
    EdgeValidator,
    TimePolicy,
    TopicRoutes,
    hash_personal_data,
)
from schemas.errors import ContractError
from schemas.events import QrScan
from schemas.privacy import PiiHasher

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
HASHER = PiiHasher(b"unit-key", "k9")
CITIZEN = "079201001234"
PLATE = "61A-123.45"


def validator() -> EdgeValidator:
    policy = TimePolicy(max_skew=timedelta(minutes=5), horizon=timedelta(days=30))
    return EdgeValidator(HASHER, policy, clock=lambda: NOW)


def qr(**kw: object) -> dict[str, object]:
    data: dict[str, object] = {
        "checkpoint_id": "CP-1",
        "area_code": "689",
        "scanned_at": NOW.isoformat(),
        "citizen_id": CITIZEN,
        "direction": "in",
        "device_id": "D-1",
    }
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def test_citizen_id_becomes_subject_hash_of_a_person() -> None:
    event = validator().validate(STREAMS["qr"], qr(), source="gate")
    assert isinstance(event, QrScan)
    assert event.subject_hash == HASHER.hash(CITIZEN)
    assert event.pii_key_id == "k9"
    assert event.subject_kind == "person"
    assert CITIZEN not in event.to_json().decode()


def test_licence_plate_becomes_subject_hash_of_a_vehicle() -> None:
    event = validator().validate(
        STREAMS["qr"], qr(citizen_id=None, licence_plate=PLATE), source="gate"
    )
    assert isinstance(event, QrScan)
    assert event.subject_kind == "vehicle"
    # One spelling per plate: separators and case do not change the hash.
    assert event.subject_hash == HASHER.hash("61a12345")


def test_two_identifiers_or_a_bad_one_are_refused_by_field() -> None:
    with pytest.raises(ContractError) as both:
        hash_personal_data("qr", qr(licence_plate=PLATE), HASHER)
    assert set(both.value.fields) == {"citizen_id", "licence_plate"}
    with pytest.raises(ContractError) as typed:
        hash_personal_data("qr", qr(citizen_id=["x"]), HASHER)
    assert typed.value.fields == ("citizen_id",)
    with pytest.raises(ContractError):
        hash_personal_data("qr", qr(citizen_id="9" * 65), HASHER)


def test_dossier_applicant_id_is_hashed() -> None:
    out = hash_personal_data("dossier", {"applicant_id": CITIZEN, "x": 1}, HASHER)
    assert out == {"applicant_hash": HASHER.hash(CITIZEN), "x": 1}


@pytest.mark.parametrize(
    ("stream", "payload", "field"),
    [
        # An unkeyed SHA-256 of a citizen id looks like a pseudonym and is not one.
        ("qr", qr(citizen_id=None, subject_hash="ab" * 32, pii_key_id="k9"), "pii_key_id"),
        ("qr", qr(citizen_id=None, subject_hash="ab" * 32), "subject_hash"),
        ("qr", qr(Subject_Hash="ab" * 32), "Subject_Hash"),
        ("dossier", {"applicant_hash": "ab" * 32, "x": 1}, "applicant_hash"),
    ],
)
def test_a_client_supplied_pseudonym_is_refused(
    stream: str, payload: dict[str, object], field: str
) -> None:
    with pytest.raises(ContractError) as exc:
        hash_personal_data(stream, payload, HASHER)
    assert exc.value.reason == "client_pseudonym"
    assert field in exc.value.fields


def test_personal_field_on_another_stream_is_refused_as_unknown() -> None:
    with pytest.raises(ContractError) as exc:
        validator().validate(STREAMS["traffic"], {"citizen_id": CITIZEN}, source="s")
    assert "citizen_id" in exc.value.fields


def test_client_id_wins_over_idempotency_id_and_both_are_stable() -> None:
    import uuid

    given = uuid.uuid4()
    header = uuid.uuid4()
    v = validator()
    assert (
        v.validate(STREAMS["qr"], qr(event_id=str(given)), source="g", event_id=header).event_id
        == given
    )
    assert v.validate(STREAMS["qr"], qr(), source="g", event_id=header).event_id == header
    derived = [v.validate(STREAMS["qr"], qr(), source="g").event_id for _ in range(2)]
    assert derived[0] == derived[1]


@pytest.mark.parametrize(
    ("offset", "reason"),
    [(timedelta(minutes=6), "clock_skew"), (-timedelta(days=31), "too_old")],
)
def test_time_policy_reasons(offset: timedelta, reason: str) -> None:
    with pytest.raises(ContractError) as exc:
        validator().validate(STREAMS["qr"], qr(scanned_at=(NOW + offset).isoformat()), source="g")
    assert exc.value.reason == reason
    assert exc.value.fields == ("scanned_at",)


def test_time_policy_bounds_are_inclusive_and_age_check_can_be_skipped() -> None:
    v = validator()
    v.validate(STREAMS["qr"], qr(scanned_at=(NOW + timedelta(minutes=5)).isoformat()), source="g")
    old = qr(scanned_at=(NOW - timedelta(days=40)).isoformat())
    assert v.validate(STREAMS["qr"], old, source="g", check_age=False).event_time < NOW


def test_dead_letter_carries_no_raw_identifier() -> None:
    letter = validator().dead_letter(
        source_topic="t",
        reason="validation",
        error=f"{CITIZEN}: extra",
        payload=qr(direction="up"),
        producer="p",
        key=f"city/x/{CITIZEN}",
    )
    assert CITIZEN not in letter.model_dump_json()
    assert letter.failed_at == NOW


def test_routes_with_suffix() -> None:
    routes = TopicRoutes.default(".t1")
    assert routes.topic("qr") == "ioc.qr.scans.v1.t1"
    assert routes.deadletter == "ioc.deadletter.v1.t1"
