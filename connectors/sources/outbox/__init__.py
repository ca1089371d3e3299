"""The dossier outbox poller: the one-stop-shop system's status history -> Kafka."""
