"""Sink connectors: what takes results out of Kafka (ClickHouse, Alertmanager)."""
