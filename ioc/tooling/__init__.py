"""Development tooling: benchmark, demo, quality report and the simulator."""
