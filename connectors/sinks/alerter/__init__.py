"""Anomalies → Alertmanager: a sink whose state is the compacted anomalies topic."""
