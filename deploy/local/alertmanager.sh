#!/usr/bin/env bash
# Alertmanager (Debian package) with its state in $IOC_DATA_DIR/alertmanager.
# Usage: alertmanager.sh start|stop|status
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SVC=alertmanager
READY_TIMEOUT=30

svc_vars() {
  SVC_PORTS="$IOC_ALERTMANAGER_PORT"
  OUT_LOG="$LOG_DIR/alertmanager.log"   # it logs to stderr only
  SVC_LOGS="$OUT_LOG"
}

# web.yml: the API and UI behind HTTPS and basic auth (monitoring-web.sh, decision 0034).
svc_prepare() {
  mkdir -p "$SVC_DIR/data"
  ensure_pki
  render_alertmanager_config "$SVC_DIR/alertmanager.yml"
  render_web_config "$SVC_DIR/web.yml" "$IOC_ALERTMANAGER_WEB_USER" \
    "$IOC_ALERTMANAGER_WEB_PASSWORD"
}

# --cluster.listen-address= (empty) turns off HA gossip, which otherwise
# binds 0.0.0.0:9094.
svc_launch() {
  spawn /usr/bin/prometheus-alertmanager --config.file="$SVC_DIR/alertmanager.yml" \
    --storage.path="$SVC_DIR/data" \
    --web.listen-address="127.0.0.1:$IOC_ALERTMANAGER_PORT" \
    --web.config.file="$SVC_DIR/web.yml" \
    --cluster.listen-address=
}

svc_ready() {
  monitoring_ready "$IOC_ALERTMANAGER_PORT" "$IOC_ALERTMANAGER_WEB_USER" \
    "$IOC_ALERTMANAGER_WEB_PASSWORD"
}

service_main "$@"
