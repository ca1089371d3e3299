#!/usr/bin/env bash
# Installs the Debian packages the local stack needs, once. Idempotent: exits at
# once when every binary is already there. Services are NOT started by the
# packages (policy-rc.d refuses), because deploy/local/up.sh starts its own
# instances on 127.0.0.1 with data under .cache/ and stops exactly those.
set -euo pipefail

need=()
command -v clickhouse-server >/dev/null || need+=(clickhouse-server clickhouse-client)
command -v prometheus >/dev/null || need+=(prometheus)
[ -x /usr/bin/prometheus-alertmanager ] || need+=(prometheus-alertmanager)
[ -x /usr/bin/prometheus-node-exporter ] || need+=(prometheus-node-exporter)   # disk, memory, CPU of the host
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_pub >/dev/null || need+=(mosquitto-clients)   # up.sh's MQTT health check
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v mvn >/dev/null || need+=(maven)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
# `docker-compose config` validates deploy/docker-compose.yml in CI; it needs no engine.
command -v docker-compose >/dev/null || need+=(docker-compose)
# Used by the start/stop/status scripts themselves.
command -v curl >/dev/null || need+=(curl)
command -v ss >/dev/null || need+=(iproute2)
# bcrypt hashes of Prometheus's and Alertmanager's web configs (monitoring-web.sh).
command -v htpasswd >/dev/null || need+=(apache2-utils)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
# Keep the packages' own init scripts from starting system-wide services.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created_policy=1
fi
trap '[ $created_policy -eq 1 ] && $SUDO rm -f "$policy"' EXIT
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
