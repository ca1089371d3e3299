"""Dashboards as code: builders, the ClickHouse plugin macros, provisioning and push."""
