"""The words alerts use in Vietnamese and English, shared by the alerter and ioc notify.

One place for the names of severities, domains and entity kinds, so that an alert's
annotations (connectors.sinks.alerter) and the message built from them
(connectors.sinks.notify) never call the same thing two ways.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["vi", "en"]

Words = dict[str, dict[Language, str]]

SEVERITIES: Words = {
    "critical": {"vi": "Nghiêm trọng", "en": "Critical"},
    "warning": {"vi": "Cảnh báo", "en": "Warning"},
    "info": {"vi": "Thông tin", "en": "Info"},
}

DOMAINS: Words = {
    "traffic": {"vi": "giao thông", "en": "traffic"},
    "energy": {"vi": "điện năng", "en": "energy"},
    "qr": {"vi": "kiểm soát QR", "en": "QR check-points"},
    "dossier": {"vi": "dịch vụ công", "en": "public services"},
}
"""In running text (lower case); :func:`titled` for a heading."""

ENTITY_KINDS: Words = {
    "sensor": {"vi": "cảm biến", "en": "sensor"},
    "segment": {"vi": "đoạn đường", "en": "road segment"},
    "meter": {"vi": "công tơ", "en": "meter"},
    "feeder": {"vi": "xuất tuyến", "en": "feeder"},
    "checkpoint": {"vi": "chốt kiểm soát", "en": "check-point"},
    "agency": {"vi": "cơ quan", "en": "agency"},
}


def titled(words: Words) -> Words:
    """The same words with a capital first letter (``str.capitalize`` would lower "QR")."""
    return {
        key: {language: text[:1].upper() + text[1:] for language, text in names.items()}
        for key, names in words.items()
    }
