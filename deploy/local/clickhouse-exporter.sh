#!/usr/bin/env bash
# ioc clickhouse-exporter: ClickHouse's system.metrics, system.events and
# system.asynchronous_metrics on IOC_CLICKHOUSE_METRICS_PORT, under the names of the
# built-in /metrics endpoint the 18.16 server lacks (ioc/ops/db/exporter.py).
# Usage: clickhouse-exporter.sh start|stop|status
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SVC=clickhouse-exporter
READY_TIMEOUT=30

svc_vars() {
  SVC_PORTS="$IOC_CLICKHOUSE_METRICS_PORT"
  SVC_LOGS="$OUT_LOG"
}

svc_prepare() { :; }

# lib.sh knows its own processes by their data folder in the command line (pid_is_ours):
# the exporter keeps no data, its bytecode cache goes there.
svc_launch() {
  spawn "$REPO_ROOT/.venv/bin/python" -X pycache_prefix="$SVC_DIR/pycache" -m ioc clickhouse-exporter
}

svc_ready() { curl -sf --max-time 2 "http://127.0.0.1:$IOC_CLICKHOUSE_METRICS_PORT/health" >/dev/null; }

service_main "$@"
