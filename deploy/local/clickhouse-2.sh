#!/usr/bin/env bash
# Replica 2 of the local ClickHouse cluster (IOC_CLICKHOUSE_CLUSTER): clickhouse.sh runs it.
# Usage: clickhouse-2.sh start|stop|status
IOC_CLICKHOUSE_NODE=2 exec bash "$(dirname "${BASH_SOURCE[0]}")/clickhouse.sh" "$@"
