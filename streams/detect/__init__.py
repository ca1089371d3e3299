"""Anomaly detection as pure code: no Kafka, faust or database imports.

The stream calls it per closed KPI window and per event; ``ioc backtest`` and
``ioc quality`` run the very same code offline. The interface:

- :class:`Observation` and :func:`observations_from_kpi`: what detection consumes;
- :class:`AnomalyUpdate`: what it produces (an ``Anomaly`` minus generation/sequence);
- :class:`DetectorSuite` with ``observe(states, obs)``: threshold rules with durations
  and the seasonal detector, state in and state out (JSON-serializable dicts);
- :func:`check_silence` and :func:`impossible_value`: silence against the watermark,
  and per-event impossible values (registers, speeds);
- :class:`DetectorParams` and :func:`params_from_profile`: every knob, from the
  province profile.
"""

from streams.detect.impossible import RegisterStep, classify_register, impossible_value
from streams.detect.model import (
    AnomalyUpdate,
    Observation,
    State,
    States,
    anomaly_id,
    state_key,
    table_key,
)
from streams.detect.observations import observations_from_kpi
from streams.detect.params import (
    DetectorParams,
    ParamsError,
    SeasonalParams,
    ThresholdRule,
    params_from_dict,
    params_to_dict,
)
from streams.detect.profile import params_from_profile
from streams.detect.silence import check_silence
from streams.detect.suite import DetectorSuite

__all__ = [
    "AnomalyUpdate",
    "DetectorParams",
    "DetectorSuite",
    "Observation",
    "ParamsError",
    "RegisterStep",
    "SeasonalParams",
    "State",
    "States",
    "ThresholdRule",
    "anomaly_id",
    "check_silence",
    "classify_register",
    "impossible_value",
    "observations_from_kpi",
    "params_from_dict",
    "params_from_profile",
    "params_to_dict",
    "state_key",
    "table_key",
]
