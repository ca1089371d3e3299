"""Source connectors: what pushes city events into Kafka."""
