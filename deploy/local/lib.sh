# Shared helpers for the local stack scripts. Sourced, never run.
#
# Every service runs natively on 127.0.0.1 with its config and data under
# $IOC_DATA_DIR/<service>/, its logs in $IOC_DATA_DIR/logs/<service>*.log
# (one folder, so test.sh and the test fixtures find them) and its PID in
# $IOC_DATA_DIR/run/<service>.pid, so down.sh stops exactly the processes
# up.sh started and nothing else.
#
# A service script defines:
#   SVC             name, also the folder under $IOC_DATA_DIR
#   READY_TIMEOUT   seconds to wait for readiness
#   STOP_SIGNAL     signal for a graceful stop (default TERM)
#   svc_vars        sets, once settings are loaded:
#                     SVC_PORTS  ports it listens on (space separated)
#                     SVC_LOGS   log files to show when it fails (space separated)
#   svc_prepare     write config, create folders, download/initialise (idempotent)
#   svc_launch      start the process in the background and write the PID file
#   svc_ready       exit 0 when the service really answers (not just the port)
#   svc_after_start optional, runs once after a fresh start is ready
# and ends with: service_main "$@"
set -euo pipefail

LOCAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LOCAL_DIR/../.." && pwd)
export REPO_ROOT
source "$LOCAL_DIR/monitoring-web.sh"  # Prometheus and Alertmanager's TLS and basic auth

# All services, in start order (down.sh stops them in reverse order). kafka-2 and kafka-3
# are the other nodes of a three-node Kafka cluster (IOC_KAFKA_BROKERS=3, kafka.sh);
# zookeeper and clickhouse-2 run only for a replicated ClickHouse (IOC_CLICKHOUSE_CLUSTER,
# clickhouse.sh). notify (`ioc notify`) starts before Alertmanager, which may post to it,
# and stops after.
ALL_SERVICES=(postgres zookeeper clickhouse clickhouse-2 clickhouse-exporter node-exporter
  mosquitto alert-receiver notify alertmanager prometheus kafka kafka-2 kafka-3)

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- settings ---------------------------------------------------------------
# The Python settings object is the single source of truth; it also reads the
# caller's IOC_* environment, so overrides like IOC_CLICKHOUSE_PORT=19000 flow
# through. Without a working .venv we fall back to the same defaults here.
load_settings() {
  local py="$REPO_ROOT/.venv/bin/python" out
  # up/down/status.sh load once and export; the per-service scripts they run
  # then skip the ~0.2 s Python start-up.
  if [ "${IOC_LOCAL_SETTINGS_LOADED:-}" = 1 ] && [ -n "${IOC_DATA_DIR:-}" ]; then
    RUN_DIR="$IOC_DATA_DIR/run"
    LOG_DIR="$IOC_DATA_DIR/logs"
    derive_settings
    return 0
  fi
  if [ -x "$py" ]; then
    if out=$(cd "$REPO_ROOT" && "$py" -m ioc.settings shell-env 2>/dev/null); then
      eval "$out"
    else
      log "warning: '$py -m ioc.settings shell-env' failed; using default settings"
    fi
  fi
  : "${IOC_DATA_DIR:=$REPO_ROOT/.cache}"
  : "${IOC_KAFKA_HOST:=127.0.0.1}"
  : "${IOC_KAFKA_PORT:=9092}"
  : "${IOC_KAFKA_CONTROLLER_PORT:=19093}"
  : "${IOC_KAFKA_METRICS_PORT:=9404}"
  : "${IOC_METRICS_HOST:=127.0.0.1}"
  : "${IOC_KAFKA_BROKERS:=1}"
  : "${IOC_KAFKA_SECURITY_PROTOCOL:=SASL_SSL}"
  : "${IOC_KAFKA_VERSION:=4.4.0}"
  : "${IOC_CLICKHOUSE_PORT:=9000}"
  : "${IOC_CLICKHOUSE_HTTP_PORT:=8123}"
  : "${IOC_CLICKHOUSE_METRICS_PORT:=9363}"
  : "${IOC_CLICKHOUSE_CLUSTER:=}"
  : "${IOC_CLICKHOUSE_REPLICAS:=2}"
  : "${IOC_CLICKHOUSE_INTERSERVER_PORT:=9009}"
  : "${IOC_ZOOKEEPER_PORT:=2181}"
  : "${IOC_NODE_EXPORTER_PORT:=9100}"
  : "${IOC_CLICKHOUSE_TLS_PORT:=9440}"
  : "${IOC_CLICKHOUSE_DATABASE:=ioc}"
  : "${IOC_CLICKHOUSE_CONFINE_DATABASES:=True}"
  : "${IOC_CLICKHOUSE_MIGRATOR_USER:=ioc_migrator}"
  : "${IOC_CLICKHOUSE_MIGRATOR_PASSWORD:=ioc-migrator-local}"
  : "${IOC_CLICKHOUSE_SINK_USER:=ioc_sink}"
  : "${IOC_CLICKHOUSE_SINK_PASSWORD:=ioc-sink-local}"
  : "${IOC_CLICKHOUSE_REPLAY_USER:=ioc_replay}"
  : "${IOC_CLICKHOUSE_REPLAY_PASSWORD:=ioc-replay-local}"
  : "${IOC_CLICKHOUSE_READER_USER:=ioc_reader}"
  : "${IOC_CLICKHOUSE_READER_PASSWORD:=ioc-reader-local}"
  : "${IOC_CLICKHOUSE_GRAFANA_USER:=grafana}"
  : "${IOC_CLICKHOUSE_GRAFANA_PASSWORD:=grafana-readonly}"
  : "${IOC_PROMETHEUS_PORT:=9090}"
  : "${IOC_ALERTMANAGER_PORT:=9093}"
  : "${IOC_MOSQUITTO_PORT:=1883}"
  : "${IOC_POSTGRES_PORT:=5432}"
  : "${IOC_POSTGRES_USER:=ioc}"
  : "${IOC_POSTGRES_PASSWORD:=ioc}"
  : "${IOC_POSTGRES_DATABASE:=dossier}"
  : "${IOC_OUTBOX_USER:=ioc_outbox}"
  : "${IOC_OUTBOX_PASSWORD:=ioc-outbox-local}"
  # Alertmanager's config template (deploy/alertmanager/alertmanager.yml) needs these.
  : "${IOC_ALERTMANAGER_GROUP_WAIT:=30s}"
  : "${IOC_ALERTMANAGER_GROUP_INTERVAL:=5m}"
  : "${IOC_ALERTMANAGER_REPEAT_INTERVAL:=4h}"
  : "${IOC_ALERTMANAGER_RECEIVERS:=local}"
  : "${IOC_ALERT_RECEIVER_PORT:=9095}"
  : "${IOC_ALERTMANAGER_WEBHOOK_URL:=http://127.0.0.1:9095/ioc-alerts}"
  : "${IOC_ALERTMANAGER_SMTP_SMARTHOST:=127.0.0.1:25}"
  : "${IOC_ALERTMANAGER_SMTP_FROM:=ioc-alerts@example.invalid}"
  : "${IOC_ALERTMANAGER_SMTP_PASSWORD:=change-me}"
  : "${IOC_ALERTMANAGER_EMAIL_TO:=ioc-oncall@example.invalid}"
  : "${IOC_ALERTMANAGER_TELEGRAM_BOT_TOKEN:=change-me}"
  : "${IOC_ALERTMANAGER_TELEGRAM_CHAT_ID:=-1}"
  : "${IOC_NOTIFY_PORT:=9096}"
  : "${IOC_NOTIFY_LANGUAGE:=vi}"
  : "${IOC_NOTIFY_RUNBOOK_BASE_URL:=https://ioc.example.invalid/}"
  # Absolute, so paths written into configs and PID ownership checks agree
  # whatever the caller's working directory.
  IOC_DATA_DIR=$(realpath -m "$IOC_DATA_DIR")
  export IOC_DATA_DIR IOC_KAFKA_HOST IOC_KAFKA_PORT IOC_KAFKA_CONTROLLER_PORT IOC_KAFKA_BROKERS \
    IOC_KAFKA_SECURITY_PROTOCOL \
    IOC_KAFKA_VERSION IOC_CLICKHOUSE_PORT IOC_CLICKHOUSE_HTTP_PORT \
    IOC_CLICKHOUSE_GRAFANA_USER IOC_CLICKHOUSE_GRAFANA_PASSWORD IOC_PROMETHEUS_PORT \
    IOC_ALERTMANAGER_PORT IOC_MOSQUITTO_PORT IOC_POSTGRES_PORT IOC_POSTGRES_USER \
    IOC_POSTGRES_PASSWORD IOC_POSTGRES_DATABASE IOC_ALERTMANAGER_GROUP_WAIT \
    IOC_ALERTMANAGER_GROUP_INTERVAL IOC_ALERTMANAGER_REPEAT_INTERVAL \
    IOC_ALERTMANAGER_RECEIVERS IOC_ALERT_RECEIVER_PORT \
    IOC_ALERTMANAGER_WEBHOOK_URL IOC_ALERTMANAGER_SMTP_SMARTHOST IOC_ALERTMANAGER_SMTP_FROM \
    IOC_ALERTMANAGER_SMTP_PASSWORD IOC_ALERTMANAGER_EMAIL_TO \
    IOC_ALERTMANAGER_TELEGRAM_BOT_TOKEN IOC_ALERTMANAGER_TELEGRAM_CHAT_ID \
    IOC_NOTIFY_PORT IOC_NOTIFY_LANGUAGE IOC_NOTIFY_RUNBOOK_BASE_URL IOC_KAFKA_METRICS_PORT \
    IOC_METRICS_HOST IOC_CLICKHOUSE_METRICS_PORT IOC_NODE_EXPORTER_PORT IOC_OUTBOX_USER \
    IOC_OUTBOX_PASSWORD IOC_CLICKHOUSE_TLS_PORT IOC_CLICKHOUSE_DATABASE \
    IOC_CLICKHOUSE_CONFINE_DATABASES IOC_CLICKHOUSE_MIGRATOR_USER IOC_CLICKHOUSE_MIGRATOR_PASSWORD \
    IOC_CLICKHOUSE_SINK_USER IOC_CLICKHOUSE_SINK_PASSWORD IOC_CLICKHOUSE_REPLAY_USER \
    IOC_CLICKHOUSE_REPLAY_PASSWORD IOC_CLICKHOUSE_READER_USER IOC_CLICKHOUSE_READER_PASSWORD \
    IOC_CLICKHOUSE_CLUSTER IOC_CLICKHOUSE_REPLICAS IOC_CLICKHOUSE_INTERSERVER_PORT IOC_ZOOKEEPER_PORT
  export IOC_LOCAL_SETTINGS_LOADED=1
  RUN_DIR="$IOC_DATA_DIR/run"
  LOG_DIR="$IOC_DATA_DIR/logs"
  derive_settings
}

# Values the templates need that follow from the settings. KAFKA_METRICS_TARGETS: the
# JMX exporter of each Kafka node (node n on IOC_KAFKA_METRICS_PORT + 100·(n-1)), as the
# items of a YAML list; the MONITORING_* of monitoring-web.sh.
derive_settings() {
  local n targets=""
  monitoring_web_vars
  for ((n = 0; n < IOC_KAFKA_BROKERS; n++)); do
    targets+="${targets:+, }\"127.0.0.1:$((IOC_KAFKA_METRICS_PORT + 100 * n))\""
  done
  export KAFKA_METRICS_TARGETS=$targets
}

# Per-service paths; call after SVC is set and settings are loaded.
svc_paths() {
  SVC_DIR="$IOC_DATA_DIR/$SVC"
  PID_FILE="$RUN_DIR/$SVC.pid"
  # The process's stdout/stderr; a service that logs only there overrides
  # this with "$LOG_DIR/$SVC.log" in svc_vars.
  OUT_LOG="$LOG_DIR/$SVC.out"
}

# --- local PKI ----------------------------------------------------------------
# One private CA for the local stack and a server certificate for 127.0.0.1/localhost
# that every TLS listener of the stack presents (Mosquitto, Prometheus, Alertmanager, ...).
# Created once under $IOC_DATA_DIR/pki (a new data folder, a new CA): PKI_CA is what a
# client trusts (IOC_*_CA_FILE settings point at it), PKI_CERT/PKI_KEY what a server
# presents. The CA key never leaves that folder (mode 700). Not for production: a
# province's services present certificates from its own CA (docs/security.md).
ensure_pki() {
  PKI_DIR="$IOC_DATA_DIR/pki"
  PKI_CA="$PKI_DIR/ca.pem"
  PKI_CERT="$PKI_DIR/server.pem"
  PKI_KEY="$PKI_DIR/server.key"
  export PKI_DIR PKI_CA PKI_CERT PKI_KEY
  [ -s "$PKI_CA" ] && [ -s "$PKI_CERT" ] && [ -s "$PKI_KEY" ] && return 0
  command -v openssl >/dev/null || die "openssl is needed for the local stack's certificates"
  (
    umask 077
    mkdir -p "$PKI_DIR"
    local tmp; tmp=$(mktemp -d "$PKI_DIR/.new.XXXXXX")
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=IOC local stack CA" \
      -keyout "$tmp/ca.key" -out "$tmp/ca.pem" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
      -keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
      >"$tmp/server.ext"
    openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
      -CAcreateserial -days 825 -extfile "$tmp/server.ext" -out "$tmp/server.pem" 2>/dev/null
    # Readable by services that drop root (mosquitto): the key of a local test server.
    chmod 644 "$tmp/ca.pem" "$tmp/server.pem" "$tmp/server.key"
    mv "$tmp"/ca.key "$tmp"/ca.pem "$tmp"/server.key "$tmp"/server.pem "$PKI_DIR/"
    rm -rf "$tmp"
  ) || die "could not create the local CA in $PKI_DIR"
  chmod 755 "$PKI_DIR"
  echo "pki: created a local CA and a server certificate in $PKI_DIR"
}

# --- jars from Maven Central ------------------------------------------------
# Copy a pom's dependencies into LIBS once: the marker holds the version and a hash of
# the pom, so editing the pom (e.g. the logging backend) triggers a clean refetch. CHECK
# (a function given LIBS) vets the jars before the marker is written. Kafka and ZooKeeper.
fetch_maven_deps() {
  local name=$1 pom=$2 property=$3 version=$4 libs=$5 check=$6
  local marker="$libs/.complete" want mvn_log="$LOG_DIR/$name-maven.out"
  want="$version $(sha256sum "$pom" | cut -d' ' -f1)"
  [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && return 0
  echo "$name: downloading $version jars with Maven into $libs"
  rm -rf "$libs"
  # Plugin version pinned: Maven 3.8.7's default dependency plugin is too old.
  # Output to a file: Maven 3.8 prints stray colour codes even with -q -B.
  mvn -q -B -f "$pom" -D"$property=$version" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DoutputDirectory="$libs" >"$mvn_log" 2>&1 ||
    { tail -n 80 "$mvn_log" >&2; die "$name: Maven download of $version failed (log: $mvn_log)"; }
  "$check" "$libs"
  echo "$want" >"$marker"
}

# --- templates --------------------------------------------------------------
# Copy a template replacing every ${NAME} by the value of environment variable
# NAME (IOC_* settings, REPO_ROOT, ...). Pure bash, so values need no escaping.
# Fails on a placeholder whose variable is unset, rather than writing "".
render_template() {
  local src=$1 dst=$2 text name
  text=$(<"$src")
  # shellcheck disable=SC2016  # the quotes hold a literal ${...} pattern
  for name in $(grep -oE '\$\{[A-Z_][A-Z0-9_]*\}' "$src" | sort -u | tr -d '${}'); do
    [ -n "${!name+x}" ] || die "$src uses \${$name}, which is not set"
    text=${text//"\${$name}"/"${!name}"}  # quoted: \ and & stay literal
  done
  printf '%s\n' "$text" >"$dst.tmp"
  mv "$dst.tmp" "$dst"
}

# Alertmanager's config: the routing tree (deploy/alertmanager/alertmanager.yml) and
# the receivers IOC_ALERTMANAGER_RECEIVERS names (deploy/alertmanager/receivers/), each
# rendered with render_template, in one file.
render_alertmanager_config() {
  local dst=$1 src="$REPO_ROOT/deploy/alertmanager" template
  local receivers="$src/receivers/${IOC_ALERTMANAGER_RECEIVERS:-}.yml"
  [ -f "$receivers" ] || die "IOC_ALERTMANAGER_RECEIVERS='${IOC_ALERTMANAGER_RECEIVERS:-}' \
names no file in $src/receivers/ (local or production)"
  # The message templates hold settings too (the runbook base URL): rendered beside the
  # config, which names their directory as AM_TEMPLATES_DIR (absolute: Alertmanager
  # resolves relative paths from its working directory in some versions).
  local AM_TEMPLATES_DIR
  mkdir -p "$(dirname "$dst")/templates"
  AM_TEMPLATES_DIR="$(cd "$(dirname "$dst")/templates" && pwd)"
  for template in "$src"/templates/*.tmpl; do
    render_template "$template" "$AM_TEMPLATES_DIR/$(basename "$template")"
  done
  render_template "$src/alertmanager.yml" "$dst.routes"
  render_template "$receivers" "$dst.receivers"
  cat "$dst.routes" "$dst.receivers" >"$dst.tmp"
  rm -f "$dst.routes" "$dst.receivers"
  mv "$dst.tmp" "$dst"
}

# --- processes --------------------------------------------------------------
read_pid() { if [ -f "$PID_FILE" ]; then cat "$PID_FILE" 2>/dev/null || true; fi; }

# True when PID is alive, not a zombie, and its command line mentions our
# service folder. The last check stops a stale PID file (after a reboot, PID
# reuse) from making us report or kill somebody else's process.
pid_is_ours() {
  pid_alive "$1" || return 1
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$SVC_DIR"
}

pid_alive() {  # alive and not a zombie
  local pid=$1 state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ "$state" != Z ]
}

# A process killed with SIGKILL stays a zombie until init reaps it (about 2 s
# on this VM's init), and PostgreSQL refuses to start while the PID in its
# postmaster.pid still exists. So before a restart, wait for the reaping.
wait_reaped() {
  local pid=$1 i
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  for ((i = 0; i < 20; i++)); do
    [ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" = Z ] || return 0
    sleep 0.5
  done
}

running_pid() {  # prints our PID and succeeds if the service process is running
  local pid; pid=$(read_pid)
  pid_is_ours "$pid" && echo "$pid"
}

# Start "$@" detached: its own session (setsid), so Ctrl-C on up.sh or closing
# the terminal does not kill it; stdin closed; output appended to OUT_LOG.
# setsid does not fork here (a background job is not a group leader), so $!
# is the service's PID. "9>&-": the service must not inherit our lock fd, or
# it would hold the start/stop lock for as long as it runs.
spawn() {
  setsid "$@" </dev/null >>"$OUT_LOG" 2>&1 9>&- &
  echo $! >"$PID_FILE"
}

# Services that drop root (postgres, mosquitto) must be able to traverse
# every folder down to PATH: add o+x (enter only, not list or read) where it
# is missing, and say so. PATH itself may be owned by USER already.
make_reachable_by() {
  local user=$1 d=$2
  while [ "$d" != / ]; do
    if ! runuser -u "$user" -- test -x "$d"; then
      echo "$SVC: chmod o+x $d (so user $user can reach $2)"
      chmod o+x "$d"
    fi
    d=$(dirname "$d")
  done
}

# --- ports ------------------------------------------------------------------
# Ports are checked with ss (is something listening?) rather than by opening
# a connection: a bare connect makes ClickHouse and PostgreSQL log a warning
# each time. Whether the port really answers is svc_ready's job.
port_taken() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

ports_listening() {
  local p
  for p in $SVC_PORTS; do port_taken "$p" || return 1; done
}

# Wait until svc_ready succeeds; give up early if the process died.
wait_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    ports_listening && svc_ready && return 0
    # Alive, not "ours": right after spawn the PID can still be the forked shell
    # (setsid has not exec'd the service yet), whose command line lacks SVC_DIR.
    pid_alive "$(read_pid)" || { log "$SVC: process exited during startup"; return 1; }
    sleep 0.5
  done
  log "$SVC: not ready after ${READY_TIMEOUT}s"
  return 1
}

show_logs() {
  local f
  for f in $SVC_LOGS; do
    [ -s "$f" ] || continue
    log "----- last 80 lines of $f -----"
    tail -n 80 "$f" >&2
  done
  log "-----"
}

# --- verbs ------------------------------------------------------------------
svc_start() {
  local pid p
  if pid=$(running_pid); then
    # Already started by us: do not start a second copy, just make sure it answers.
    if wait_ready; then
      echo "$SVC: already running (pid $pid)"
      return 0
    fi
    show_logs
    return 1
  fi
  wait_reaped "$(read_pid)"
  rm -f "$PID_FILE"
  for p in $SVC_PORTS; do
    if port_taken "$p"; then
      log "$SVC: port $p is already in use by a process up.sh did not start:"
      ss -Hltnp "sport = :$p" >&2 || true
      return 1
    fi
  done
  mkdir -p "$SVC_DIR"
  svc_prepare
  local t0=$SECONDS
  svc_launch
  if wait_ready; then
    if declare -F svc_after_start >/dev/null; then svc_after_start; fi
    echo "$SVC: started (pid $(read_pid), ports $SVC_PORTS, $((SECONDS - t0))s)"
    return 0
  fi
  show_logs
  # Do not leave a half-started process behind; the next up.sh starts clean.
  svc_stop >/dev/null || true
  log "$SVC: failed to start; log tails above, full logs in $LOG_DIR"
  return 1
}

svc_stop() {
  local pid i
  if ! pid=$(running_pid); then
    [ -f "$PID_FILE" ] && { rm -f "$PID_FILE"; echo "$SVC: not running (removed stale pid file)"; return 0; }
    echo "$SVC: not running"
    return 0
  fi
  kill -s "${STOP_SIGNAL:-TERM}" "$pid" 2>/dev/null || true
  for ((i = 0; i < 40; i++)); do   # up to 20 s for a clean shutdown
    pid_is_ours "$pid" || break
    sleep 0.5
  done
  if pid_is_ours "$pid"; then
    log "$SVC: pid $pid still alive after 20s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do pid_is_ours "$pid" || break; sleep 0.5; done
  fi
  rm -f "$PID_FILE"
  echo "$SVC: stopped (pid $pid)"
}

# One line: name, ports, pid, health, detail. Health is "up" only when our
# process runs AND the real check (svc_ready) passes.
svc_status() {
  local pid health=down detail
  if pid=$(running_pid); then
    if ports_listening && svc_ready; then health=up; detail=""
    else detail="process running but not answering"; fi
  else
    pid="-"
    detail="not running"
    [ -f "$PID_FILE" ] && detail="not running (stale pid file)"
    local p
    for p in $SVC_PORTS; do
      port_taken "$p" && detail="not started by up.sh, but port $p is taken by another process"
    done
  fi
  printf '%-20s %-17s %-8s %-5s %s\n' "$SVC" "${SVC_PORTS// /,}" "$pid" "$health" "$detail"
}

service_main() {
  load_settings
  svc_paths
  svc_vars
  local verb=${1:-}
  case "$verb" in
    start|stop)
      mkdir -p "$RUN_DIR" "$LOG_DIR"
      # One start/stop per service at a time (two up.sh runs racing).
      # Anything started in the background must close fd 9 (see spawn).
      exec 9>"$RUN_DIR/$SVC.lock"
      flock -w 120 9 || die "$SVC: another start/stop holds $RUN_DIR/$SVC.lock"
      "svc_$verb" ;;
    status) svc_status ;;
    *) die "usage: $0 start|stop|status" ;;
  esac
}

# For up/down/status.sh: the services named on the command line, or all that this
# configuration runs: Kafka nodes beyond IOC_KAFKA_BROKERS only when they have a PID file
# (down.sh then stops a cluster's nodes after the setting went back to one broker).
select_services() {
  local s ok
  if [ $# -eq 0 ]; then
    load_settings
    local replicas=$IOC_CLICKHOUSE_REPLICAS
    [ -n "$IOC_CLICKHOUSE_CLUSTER" ] || replicas=0
    SERVICES=()
    for s in "${ALL_SERVICES[@]}"; do
      if [[ $s == kafka-[0-9] ]] && [ "${s#kafka-}" -gt "$IOC_KAFKA_BROKERS" ] &&
        [ ! -f "$IOC_DATA_DIR/run/$s.pid" ]; then
        continue
      fi
      # The same for ZooKeeper and ClickHouse's replicas beyond the first.
      if { [[ $s == clickhouse-[0-9] ]] && [ "${s#clickhouse-}" -gt "$replicas" ]; } ||
        { [ "$s" = zookeeper ] && [ "$replicas" = 0 ]; }; then
        [ -f "$IOC_DATA_DIR/run/$s.pid" ] || continue
      fi
      SERVICES+=("$s")
    done
    return
  fi
  SERVICES=()
  for s in "$@"; do
    ok=0
    for a in "${ALL_SERVICES[@]}"; do [ "$a" = "$s" ] && ok=1; done
    [ $ok -eq 1 ] || die "unknown service '$s' (known: ${ALL_SERVICES[*]})"
    SERVICES+=("$s")
  done
}
