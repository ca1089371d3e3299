#!/usr/bin/env bash
# Compose's one-shot `config` service: render the Prometheus and Alertmanager
# templates (deploy/prometheus/prometheus.yml, deploy/alertmanager/alertmanager.yml)
# with the settings, exactly as deploy/local/*.sh do, into the shared /rendered volume.
set -euo pipefail
APP=${APP:-/app}          # where the checkout is (the image's WORKDIR)
OUT=${OUT:-/rendered}     # the volume Prometheus and Alertmanager read
eval "$(cd "$APP" && python -m ioc.settings shell-env)"
export REPO_ROOT=$APP

render() {
  local src=$1 dst=$2 text name
  text=$(<"$src")
  for name in $(grep -oE '\$\{[A-Z_][A-Z0-9_]*\}' "$src" | sort -u | tr -d '${}'); do
    [ -n "${!name+x}" ] || { echo "$src uses \${$name}, which is not set" >&2; exit 1; }
    text=${text//"\${$name}"/${!name}}
  done
  printf '%s\n' "$text" >"$dst"
}

mkdir -p "$OUT"
render "$APP/deploy/prometheus/prometheus.yml" "$OUT/prometheus.yml"
render "$APP/deploy/alertmanager/alertmanager.yml" "$OUT/alertmanager.yml"
echo "rendered prometheus.yml and alertmanager.yml"
