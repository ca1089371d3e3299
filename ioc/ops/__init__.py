"""Operator tools: replay, database migrations, Kafka admin, Grafana dashboards."""
