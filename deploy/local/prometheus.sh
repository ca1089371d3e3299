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

# deploy/prometheus/prometheus.yml is a template (ports are settings); web.yml puts the
# API and UI behind HTTPS and basic auth (monitoring-web.sh, decision 0034).
svc_prepare() {
  mkdir -p "$SVC_DIR/data"
  ensure_pki
  render_template "$REPO_ROOT/deploy/prometheus/prometheus.yml" "$SVC_DIR/prometheus.yml"
  chmod 600 "$SVC_DIR/prometheus.yml"  # it holds Alertmanager's and its own password
  render_web_config "$SVC_DIR/web.yml" "$IOC_PROMETHEUS_WEB_USER" "$IOC_PROMETHEUS_WEB_PASSWORD"
}

svc_launch() {
  spawn prometheus --config.file="$SVC_DIR/prometheus.yml" \
    --storage.tsdb.path="$SVC_DIR/data" \
    --web.listen-address="127.0.0.1:$IOC_PROMETHEUS_PORT" \
    --web.config.file="$SVC_DIR/web.yml"
}

svc_ready() {
  monitoring_ready "$IOC_PROMETHEUS_PORT" "$IOC_PROMETHEUS_WEB_USER" "$IOC_PROMETHEUS_WEB_PASSWORD"
}

service_main "$@"
