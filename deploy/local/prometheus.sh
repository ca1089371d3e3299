#!/usr/bin/env bash
# Prometheus (Debian package) with its TSDB in $IOC_DATA_DIR/prometheus.
# Usage: prometheus.sh start|stop|status
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SVC=prometheus
READY_TIMEOUT=30

svc_vars() {
  SVC_PORTS="$IOC_PROMETHEUS_PORT"
  OUT_LOG="$LOG_DIR/prometheus.log"   # it logs to stderr only
  SVC_LOGS="$OUT_LOG"
}

# deploy/prometheus/prometheus.yml is a template (ports are settings).
svc_prepare() {
  mkdir -p "$SVC_DIR/data"
  render_template "$REPO_ROOT/deploy/prometheus/prometheus.yml" "$SVC_DIR/prometheus.yml"
}

svc_launch() {
  spawn prometheus --config.file="$SVC_DIR/prometheus.yml" \
    --storage.tsdb.path="$SVC_DIR/data" \
    --web.listen-address="127.0.0.1:$IOC_PROMETHEUS_PORT"
}

svc_ready() { curl -sf --max-time 2 "http://127.0.0.1:$IOC_PROMETHEUS_PORT/-/ready" >/dev/null; }

service_main "$@"
