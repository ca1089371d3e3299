#!/usr/bin/env bash
# Prometheus's node_exporter (Debian package): the host's disk, memory and CPU, for the
# platform rules (deploy/prometheus/rules/platform.yml: a disk filling up under Kafka's
# or ClickHouse's data). Only the collectors those rules and the pipeline dashboard read.
# Usage: node-exporter.sh start|stop|status
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SVC=node-exporter
READY_TIMEOUT=30

svc_vars() {
  SVC_PORTS="$IOC_NODE_EXPORTER_PORT"
  SVC_LOGS="$OUT_LOG"
}

# The textfile folder takes *.prom files a cron job or a script may drop (backups' last
# success, for example); it is also how lib.sh recognises the process as ours.
svc_prepare() { mkdir -p "$SVC_DIR/textfile"; }

svc_launch() {
  spawn /usr/bin/prometheus-node-exporter --web.listen-address="127.0.0.1:$IOC_NODE_EXPORTER_PORT" \
    --collector.disable-defaults --collector.filesystem --collector.meminfo \
    --collector.cpu --collector.loadavg \
    --collector.textfile --collector.textfile.directory="$SVC_DIR/textfile"
}

svc_ready() { curl -sf --max-time 2 "http://127.0.0.1:$IOC_NODE_EXPORTER_PORT/metrics" >/dev/null; }

service_main "$@"
