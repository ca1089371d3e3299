"""Kafka → ClickHouse: batched, columnar, at-least-once into idempotent tables.

The effect is exactly once: offsets are committed only after ClickHouse accepted
the batch, and every table de-duplicates by its key (raw events by event_id,
results by version, dossier state by outbox id, dead letters by their origin).
"""
