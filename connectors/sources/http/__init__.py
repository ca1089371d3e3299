"""The HTTP ingest gateway: POST events per stream, written to Kafka before the answer."""
