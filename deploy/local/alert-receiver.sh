#!/usr/bin/env bash
# The local alert receiver (deploy/local/alert_receiver.py): where the local
# Alertmanager delivers, so nothing on this machine reaches Telegram or SMTP.
# Notifications are kept in $IOC_DATA_DIR/alert-receiver/notifications.jsonl and
# served at GET /notifications. Usage: alert-receiver.sh start|stop|status
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SVC=alert-receiver
READY_TIMEOUT=30

svc_vars() {
  SVC_PORTS="$IOC_ALERT_RECEIVER_PORT"
  SVC_LOGS="$OUT_LOG"
}

svc_prepare() { :; }

# Standard library only: the system python3 is enough.
svc_launch() {
  spawn python3 "$LOCAL_DIR/alert_receiver.py" --port "$IOC_ALERT_RECEIVER_PORT" \
    --data-dir "$SVC_DIR"
}

svc_ready() { curl -sf --max-time 2 "http://127.0.0.1:$IOC_ALERT_RECEIVER_PORT/-/ready" >/dev/null; }

service_main "$@"
