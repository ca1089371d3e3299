"""A province simulator: seeded, deterministic event streams with injected anomalies.

Pure parts (clock, rates, rng, injections, lifecycle, one generator per domain) make
(topic, event) pairs; the runner paces them into a :class:`~ioc.tooling.simulator.outputs.Output`
(Kafka through the project's producer, JSONL files, memory). Raw personal identifiers
are invented and hashed inside :mod:`~ioc.tooling.simulator.identities` and never leave it.
See docs/simulator.md.
"""

from ioc.tooling.simulator.outputs import JsonlOutput, KafkaOutput, MemoryOutput, Output
from ioc.tooling.simulator.runner import RealTime, RunSummary, run
from ioc.tooling.simulator.simulation import DOMAINS, Simulation, SimulationConfig

__all__ = [
    "DOMAINS",
    "JsonlOutput",
    "KafkaOutput",
    "MemoryOutput",
    "Output",
    "RealTime",
    "RunSummary",
    "Simulation",
    "SimulationConfig",
    "run",
]
