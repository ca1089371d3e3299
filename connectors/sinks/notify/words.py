"""The words of a notification in Vietnamese and English (data only, no logic).

Kept apart from :mod:`connectors.sinks.notify.message` so that a translator edits one
table and nothing else. Metric names are the detectors' (docs/detectors.md); a metric
that is not listed is shown by its own name with spaces (``scans_out`` → "scans out"),
which is readable enough for a metric an operator added to the profile.
"""

from __future__ import annotations

from connectors.sinks.vocabulary import (
    DOMAINS,
    ENTITY_KINDS,
    SEVERITIES,
    Language,
    Words,
    titled,
)

__all__ = ["METRICS", "UNITS", "WORDS", "Language"]


WORDS: Words = {
    **SEVERITIES,
    **titled(DOMAINS),
    **ENTITY_KINDS,
    "firing": {"vi": "CẢNH BÁO", "en": "ALERT"},
    "resolved": {"vi": "ĐÃ HẾT", "en": "RESOLVED"},
    "what": {"vi": "Hiện tượng", "en": "What"},
    "where": {"vi": "Ở đâu", "en": "Where"},
    "since": {"vi": "Từ lúc", "en": "Since"},
    "until": {"vi": "Đến lúc", "en": "Until"},
    "observed": {"vi": "Đo được", "en": "Observed"},
    "expected": {"vi": "kỳ vọng", "en": "expected"},
    "band": {"vi": "ngưỡng bình thường", "en": "normal band"},
    "detail": {"vi": "Chi tiết", "en": "Details"},
    "dashboard": {"vi": "Biểu đồ", "en": "Dashboard"},
    "runbook": {"vi": "Hướng dẫn xử lý", "en": "Runbook"},
    "more": {"vi": "và {n} cảnh báo khác", "en": "and {n} more alerts"},
    "local_time": {"vi": "giờ Việt Nam", "en": "Vietnam time"},
    "pipeline": {"vi": "Hệ thống IOC", "en": "IOC pipeline"},
    "process": {"vi": "tiến trình", "en": "process"},
    "area": {"vi": "khu vực", "en": "area"},
}

METRICS: dict[str, dict[Language, str]] = {
    "congestion_index": {"vi": "Chỉ số ùn tắc", "en": "Congestion index"},
    "mean_speed_kmh": {"vi": "Tốc độ trung bình", "en": "Mean speed"},
    "average_speed_kmh": {"vi": "Tốc độ đo được", "en": "Measured speed"},
    "voltage_min_v": {"vi": "Điện áp thấp nhất", "en": "Lowest voltage"},
    "voltage_max_v": {"vi": "Điện áp cao nhất của xuất tuyến", "en": "Feeder's highest voltage"},
    "power_kw_mean": {"vi": "Công suất trung bình", "en": "Mean power"},
    "meters_reporting_ratio": {
        "vi": "Tỉ lệ công tơ gửi số liệu",
        "en": "Share of meters reporting",
    },
    "energy_kwh_total": {"vi": "Chỉ số công tơ", "en": "Meter register"},
    "scans_in": {"vi": "Lượt quét QR vào", "en": "QR scans in"},
    "overdue": {"vi": "Hồ sơ quá hạn", "en": "Overdue dossiers"},
    "on_time_rate": {"vi": "Tỉ lệ hồ sơ đúng hạn", "en": "On-time rate"},
    "last_seen": {"vi": "Mất tín hiệu (không có số liệu)", "en": "Silent (no data)"},
}

UNITS: dict[str, str] = {"kmh": "km/h", "v": "V", "kw": "kW", "kwh": "kWh"}
"""A word of a metric's name → the unit shown after its values (``voltage_min_v`` → V)."""
