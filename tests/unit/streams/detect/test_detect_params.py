"""Parameters: defaults, the profile, JSON overrides that fail loudly."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from schemas.province.loading import load_profile
from streams.detect import DetectorParams, ParamsError, params_from_dict, params_from_profile
from streams.detect.params import params_to_dict

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[4] / "docs" / "detectors.md"


def test_profile_thresholds_calendar_and_entities() -> None:
    profile = load_profile()
    params = params_from_profile(profile)
    rules = {r.name: r for r in params.rules}
    assert rules["undervoltage"].threshold == profile.rules.undervoltage_ratio
    assert rules["undervoltage"].duration_s == profile.rules.undervoltage_for_s
    assert rules["congestion"].threshold == profile.rules.congestion_index
    assert rules["overdue_spike"].threshold == profile.rules.overdue_spike_count - 1
    assert params.silence_periods == profile.rules.silence_periods
    meter = profile.meters[0]
    assert params.nominal_voltage(meter.meter_id) == meter.nominal_voltage_v
    assert params.register_max(meter.meter_id) == meter.register_max_kwh
    # Tết 2027 starts on 4 February; the five days before it share the holiday baseline.
    assert {"2027-01-30", "2027-02-03", "2027-02-04"} <= set(params.holidays)
    assert "2027-01-29" not in params.holidays
    # The profile's seasonal thresholds are robust z: z = 4 opens, z = 2 resolves.
    s = params.seasonal
    assert 1 - math.exp(-4 / s.z_scale) == pytest.approx(s.open_score)
    assert 1 - math.exp(-2 / s.z_scale) == pytest.approx(s.resolve_score)
    surge = params.seasonal_for("scans_in")
    assert (surge.min_ratio, surge.min_value) == (profile.rules.qr_surge_factor, 30.0)


def test_json_overrides_merge_and_round_trip() -> None:
    base = DetectorParams()
    params = params_from_dict(
        {"rules": [{"name": "undervoltage", "duration_s": 60}], "seasonal": {"open_points": 2}}
    )
    rules = {r.name: r for r in params.rules}
    assert rules["undervoltage"].duration_s == 60
    assert rules["undervoltage"].threshold == 0.9
    assert params.seasonal.open_points == 2
    assert len(params.rules) == len(base.rules)
    again = params_from_dict(json.loads(json.dumps(params_to_dict(params))), base=base)
    assert again == params


def test_the_documented_example_is_valid() -> None:
    example = re.search(r"```json\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert example is not None
    params = params_from_dict(json.loads(example.group(1)))
    assert "on_time_rate" in {r.name for r in params.rules}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nope": 1}, "unknown field"),
        ({"rules": [{"name": "x", "metric": "m", "op": "sideways", "threshold": 1}]}, "op"),
        ({"rules": [{"metric": "m"}]}, "with a name"),
        ({"rules": [{"name": "undervoltage", "severity": "loud"}]}, "severity"),
        ({"seasonal": {"open_score": 0.3}}, "resolve_score"),
        ({"seasonal": {"colour": "red"}}, "unknown field"),
        ({"silence_periods": 0}, "silence_periods"),
    ],
)
def test_bad_parameters_are_refused(data: dict, message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        params_from_dict(data)
