#!/usr/bin/env bash
# Kafka (KRaft) from Maven Central jars: no tarball, no Docker. One node that is both
# broker and controller, or, with IOC_KAFKA_BROKERS=3, node IOC_KAFKA_NODE (1..3) of a
# three-node cluster (kafka-2.sh and kafka-3.sh run this script for nodes 2 and 3).
# Node n listens on IOC_KAFKA_PORT + 100·(n-1) and IOC_KAFKA_CONTROLLER_PORT + 100·(n-1).
# Secured by default (IOC_KAFKA_SECURITY_PROTOCOL=SASL_SSL, decision 0039): TLS with the
# local CA's certificate, SCRAM-SHA-512 users created at format time
# (ioc/tooling/kafka_accounts.py), ACLs (ioc topics acls) once the cluster answers.
# PLAINTEXT remains for comparison (make bench), in a data folder of its own.
# Usage: kafka.sh start|stop|status
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODE=${IOC_KAFKA_NODE:-1}
SVC=kafka
[ "$NODE" = 1 ] || SVC=kafka-$NODE
VERB=${1:-}
READY_TIMEOUT=60
# The Prometheus JMX exporter agent each node runs (deploy/kafka/jmx-exporter.yml);
# 1.0.1 is the newest release Maven Central serves to this project's machines.
JMX_EXPORTER_VERSION=1.0.1

svc_vars() {
  BROKERS=$IOC_KAFKA_BROKERS
  [ "$NODE" -le "$BROKERS" ] || [ "$VERB" != start ] ||
    die "$SVC: node $NODE, but IOC_KAFKA_BROKERS=$BROKERS"
  PORT=$((IOC_KAFKA_PORT + 100 * (NODE - 1)))
  CONTROLLER_PORT=$((IOC_KAFKA_CONTROLLER_PORT + 100 * (NODE - 1)))
  METRICS_PORT=$((IOC_KAFKA_METRICS_PORT + 100 * (NODE - 1)))
  # A cluster's node answers only once a majority of its controllers runs: while the
  # cluster starts, each node but the last is ready when its controller listens; the
  # last waits for every broker to be registered.
  QUORUM_PENDING=0
  if [ "$VERB" = start ] && [ "$NODE" -lt "$BROKERS" ]; then QUORUM_PENDING=1; fi
  SVC_PORTS="$PORT $CONTROLLER_PORT $METRICS_PORT"
  [ $QUORUM_PENDING = 0 ] || SVC_PORTS="$CONTROLLER_PORT $METRICS_PORT"
  SVC_LOGS="$LOG_DIR/$SVC.log $OUT_LOG"
  KAFKA_HOME="$IOC_DATA_DIR/kafka-$IOC_KAFKA_VERSION"
  JMX_AGENT="$IOC_DATA_DIR/jmx-exporter/jmx_prometheus_javaagent-$JMX_EXPORTER_VERSION.jar"
  # One broker or a cluster: separate folders, so that switching never mixes a
  # one-voter metadata log with a three-voter one (each mode finds its own topics).
  DATA_DIR="$SVC_DIR/data"
  [ "$BROKERS" = 1 ] || DATA_DIR="$SVC_DIR/data-cluster-$BROKERS"
  # Users exist from the first format on, so a secured broker has a folder of its own too.
  case "$IOC_KAFKA_SECURITY_PROTOCOL" in
    SASL_SSL) DATA_DIR+="-sasl" ;;
    PLAINTEXT) ;;
    *) die "$SVC: the local stack runs SASL_SSL or PLAINTEXT, not $IOC_KAFKA_SECURITY_PROTOCOL" ;;
  esac
}

# The listeners and security of server.properties (passwords: mode 600, like the file).
security_properties() {
  if [ "$IOC_KAFKA_SECURITY_PROTOCOL" = PLAINTEXT ]; then
    cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$IOC_KAFKA_HOST:$PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
PROPS
    return
  fi
  local scram=${KAFKA_SCRAM_MECHANISM,,}
  # Clients, brokers among themselves and brokers to controllers: all TLS. Clients and
  # brokers log in with SCRAM; the controller listener uses SASL/PLAIN with a user of
  # its own, because SCRAM credentials live in the metadata log the controllers serve.
  # A principal may do only what its ACLs grant; super users are the brokers' and
  # ioc-admin's.
  cat <<PROPS
listeners=SASL_SSL://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=SASL_SSL://$IOC_KAFKA_HOST:$PORT
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=CONTROLLER:SASL_SSL,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=$KAFKA_SCRAM_MECHANISM
sasl.mechanism.inter.broker.protocol=$KAFKA_SCRAM_MECHANISM
listener.name.sasl_ssl.$scram.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$KAFKA_BROKER_USER" password="$KAFKA_BROKER_PASSWORD";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$KAFKA_CONTROLLER_USER" password="$KAFKA_CONTROLLER_PASSWORD" user_$KAFKA_CONTROLLER_USER="$KAFKA_CONTROLLER_PASSWORD";
ssl.keystore.type=PEM
ssl.keystore.location=$SVC_DIR/keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$PKI_CA
ssl.enabled.protocols=TLSv1.3,TLSv1.2
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=$KAFKA_SUPER_USERS
PROPS
}

# The users and passwords, from the one place that knows them (ioc/tooling/kafka_accounts.py).
load_accounts() {
  KAFKA_SCRAM_ARGS=()
  [ "$IOC_KAFKA_SECURITY_PROTOCOL" = SASL_SSL ] || return 0
  local py="$REPO_ROOT/.venv/bin/python" out
  [ -x "$py" ] || die "$SVC: $py is needed for the brokers' users"
  out=$(cd "$REPO_ROOT" && "$py" -m ioc.tooling.kafka_accounts) ||
    die "$SVC: could not list the brokers' users (ioc.tooling.kafka_accounts)"
  eval "$out"
}

svc_prepare() {
  fetch_jars
  fetch_agent
  mkdir -p "$DATA_DIR"
  load_accounts
  if [ "$IOC_KAFKA_SECURITY_PROTOCOL" = SASL_SSL ]; then
    ensure_pki
    (umask 077 && cat "$PKI_KEY" "$PKI_CERT" >"$SVC_DIR/keystore.pem")
  fi
  local voters="" n replicas=$((BROKERS < 3 ? BROKERS : 3)) min_isr=1
  [ "$BROKERS" -lt 3 ] || min_isr=2
  for ((n = 1; n <= BROKERS; n++)); do
    voters+="${voters:+,}$n@127.0.0.1:$((IOC_KAFKA_CONTROLLER_PORT + 100 * (n - 1)))"
  done
  # Rewritten on every start so port settings always apply. Static voters
  # (controller.quorum.voters) rather than a dynamic quorum: the voter's address
  # then comes from this file, not from the formatted metadata log, so moving
  # the controller port later does not need a reformat.
  (umask 077 && cat >"$SVC_DIR/server.properties" <<PROPS
# Generated by deploy/local/kafka.sh on each start; edit the script, not this.
process.roles=broker,controller
node.id=$NODE
controller.quorum.voters=$voters
controller.listener.names=CONTROLLER
$(security_properties)
log.dirs=$DATA_DIR
num.partitions=3
# Internal topics as replicated as the cluster allows; with three nodes a write needs two
# replicas (min.insync.replicas), so one node may fail without losing an acked record.
offsets.topic.replication.factor=$replicas
transaction.state.log.replication.factor=$replicas
transaction.state.log.min.isr=$min_isr
share.coordinator.state.topic.replication.factor=$replicas
share.coordinator.state.topic.min.isr=$min_isr
default.replication.factor=$replicas
min.insync.replicas=$min_isr
# A replica out of sync never becomes leader: an acknowledged record is never lost.
unclean.leader.election.enable=false
# Consumers (tests) join at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
# Topics come from the registry (ioc topics create) or are declared by faust
# through the admin API; a typo in a producer must fail, not invent a topic
# with default partitions and retention.
auto.create.topics.enable=false
PROPS
  )
  # Format the storage once, every node of a cluster with the same cluster id (kept in
  # node 1's folder, so a wiped data folder is reformatted with the same id).
  local id_file="$IOC_DATA_DIR/kafka/cluster-id"
  [ "$BROKERS" = 1 ] || id_file="$IOC_DATA_DIR/kafka/cluster-id-$BROKERS"
  if [ ! -f "$DATA_DIR/meta.properties" ]; then
    mkdir -p "$IOC_DATA_DIR/kafka"
    [ -s "$id_file" ] ||
      java -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool random-uuid >"$id_file"
    java -cp "$KAFKA_HOME/libs/*" -Dlog4j2.configurationFile="$LOCAL_DIR/kafka-log4j2.xml" \
      -Dkafka.logs.dir="$LOG_DIR" -Dkafka.log.name="$SVC" \
      kafka.tools.StorageTool format -t "$(cat "$id_file")" \
      -c "$SVC_DIR/server.properties" "${KAFKA_SCRAM_ARGS[@]}" >>"$OUT_LOG" 2>&1 ||
      { log "$SVC: storage format failed"; show_logs; return 1; }
  fi
}

# Kafka's jars once per version (lib.sh fetch_maven_deps).
fetch_jars() {
  fetch_maven_deps kafka "$LOCAL_DIR/kafka-pom.xml" kafka.version "$IOC_KAFKA_VERSION" \
    "$KAFKA_HOME/libs" check_kafka_jars
}

# Two slf4j bindings would make logging pick one at random.
check_kafka_jars() {
  local bindings
  bindings=$(find "$1" -maxdepth 1 \( -name 'log4j-slf4j*-impl-*.jar' -o -name 'slf4j-reload4j-*.jar' \
    -o -name 'slf4j-log4j12-*.jar' -o -name 'slf4j-simple-*.jar' -o -name 'logback-classic-*.jar' \) | wc -l)
  [ "$bindings" = 1 ] || die "kafka: expected exactly one slf4j binding in $1, found $bindings"
}

# The agent apart from Kafka's libs: it is a shaded jar of its own, not for the classpath.
fetch_agent() {
  [ -s "$JMX_AGENT" ] && return 0
  echo "kafka: downloading the Prometheus JMX exporter agent $JMX_EXPORTER_VERSION with Maven"
  local mvn_log="$LOG_DIR/jmx-exporter-maven.out"
  mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="io.prometheus.jmx:jmx_prometheus_javaagent:$JMX_EXPORTER_VERSION" \
    -DoutputDirectory="$(dirname "$JMX_AGENT")" >"$mvn_log" 2>&1 ||
    { tail -n 40 "$mvn_log" >&2; die "kafka: Maven download of the JMX exporter failed (log: $mvn_log)"; }
}

svc_launch() {
  # preferIPv4Stack: plain IPv4 sockets, so ss shows 127.0.0.1, not ::ffff:127.0.0.1.
  spawn java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true \
    -Dlog4j2.configurationFile="$LOCAL_DIR/kafka-log4j2.xml" \
    -Dkafka.logs.dir="$LOG_DIR" -Dkafka.log.name="$SVC" \
    -javaagent:"$JMX_AGENT=$IOC_METRICS_HOST:$METRICS_PORT:$REPO_ROOT/deploy/kafka/jmx-exporter.yml" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$SVC_DIR/server.properties"
}

# A metadata round trip as ioc-admin, which the broker only answers once it has joined the
# quorum and registered; a cluster's last node also waits until every node is registered.
svc_ready() {
  [ $QUORUM_PENDING = 0 ] || return 0
  local want=1
  [ "$NODE" -lt "$BROKERS" ] || want=$BROKERS
  (cd "$REPO_ROOT" && "$REPO_ROOT/.venv/bin/python" -m ioc.tooling.kafka_accounts ready \
    "$PORT" "$want" 2>/dev/null)
}

# Once the whole cluster answers (its last node), grant each component its ACLs.
svc_after_start() {
  [ "$IOC_KAFKA_SECURITY_PROTOCOL" = SASL_SSL ] && [ "$NODE" = "$BROKERS" ] || return 0
  (cd "$REPO_ROOT" && "$REPO_ROOT/.venv/bin/python" -m ioc topics acls >>"$OUT_LOG" 2>&1) ||
    { log "$SVC: could not create the ACLs (ioc topics acls)"; tail -n 40 "$OUT_LOG" >&2; return 1; }
}

service_main "$@"
