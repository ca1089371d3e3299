#!/usr/bin/env bash
# Compose's one-shot `config` service: render the Prometheus and Alertmanager
# templates (deploy/prometheus/prometheus.yml, deploy/alertmanager/alertmanager.yml)
# with the settings, exactly as deploy/local/*.sh do, into the shared /rendered volume;
# Mosquitto's certificate and accounts into /data.
set -euo pipefail
APP=${APP:-/app}          # where the checkout is (the image's WORKDIR)
OUT=${OUT:-/rendered}     # the volume Prometheus and Alertmanager read
eval "$(cd "$APP" && python -m ioc.settings shell-env)"
# The local stack's render_template and render_alertmanager_config (functions only).
source "$APP/deploy/local/lib.sh"
monitoring_web_vars  # MONITORING_* (IOC_MONITORING_TLS is off here: see docker-compose.yml)

mkdir -p "$OUT"
render_template "$APP/deploy/prometheus/prometheus.yml" "$OUT/prometheus.yml"
render_alertmanager_config "$OUT/alertmanager.yml"
echo "rendered prometheus.yml and alertmanager.yml"
# Mosquitto (decision 0033): the stack's CA and server certificate in /data/pki, which
# the clients trust (IOC_MQTT_TLS_CA_FILE "" finds it), and the accounts and ACL.
ensure_pki
(cd "$APP" && python -m ioc.tooling.mqtt_accounts "$IOC_DATA_DIR/mosquitto")
