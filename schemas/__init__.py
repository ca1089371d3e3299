"""Event and result contracts, the topic registry and the area model: the ground floor.

Imports nothing of ours; connectors and streams meet only through these contracts
and the Kafka topics they name.
"""
