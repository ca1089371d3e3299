#!/usr/bin/env bash
# `ioc notify` (connectors/sinks/notify/): Alertmanager's webhook receiver that forwards
# notifications to Zalo OA, Telegram and e-mail, on 127.0.0.1:IOC_NOTIFY_PORT
# (POST /alerts, GET /health, GET /metrics). The channels are the settings': by default
# none (IOC_NOTIFY_CHANNELS empty), so it accepts and counts notifications and sends
# nothing outside this machine. The local Alertmanager still posts to the alert receiver;
# IOC_ALERTMANAGER_WEBHOOK_URL=http://127.0.0.1:9096/alerts routes it here instead
# (docs/notify.md, "In the local stack"). Usage: notify.sh start|stop|status
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SVC=notify
READY_TIMEOUT=30

svc_vars() {
  SVC_PORTS="$IOC_NOTIFY_PORT"
  SVC_LOGS="$OUT_LOG"
}

svc_prepare() {
  [ -x "$REPO_ROOT/.venv/bin/python" ] || die "$SVC needs the project's .venv (make install)"
}

# The checkout's code (cwd and PYTHONPATH: the .venv may be another checkout's). The -X
# option does nothing but put the service folder on the command line, which is how
# lib.sh recognises its own process (pid_is_ours).
svc_launch() {
  spawn env -C "$REPO_ROOT" PYTHONPATH="$REPO_ROOT" IOC_NOTIFY_HOST=127.0.0.1 \
    "$REPO_ROOT/.venv/bin/python" -X "ioc_service_dir=$SVC_DIR" -m ioc notify
}

# /health is 200 once it listens and every channel's delivery worker runs.
svc_ready() { curl -sf --max-time 2 "http://127.0.0.1:$IOC_NOTIFY_PORT/health" >/dev/null; }

service_main "$@"
