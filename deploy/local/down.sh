#!/usr/bin/env bash
# Stop what up.sh started (or only the services named), by recorded PID:
# SIGTERM (SIGINT for PostgreSQL), up to 20 s, then SIGKILL. Processes we did
# not start are never touched. Usage: bash deploy/local/down.sh [service...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
select_services "$@"
load_settings

# Reverse start order: producers/scrapers first, stores last. The nodes of a Kafka
# cluster stop together: one by one, the last would wait for a quorum that is gone
# (its controlled shutdown never completes) until the SIGKILL after 20 s.
rc=0
nodes=()
stop_nodes() {
  local n pids=() p
  for n in "${nodes[@]}"; do bash "$LOCAL_DIR/$n.sh" stop & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  nodes=()
}
for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
  case ${SERVICES[i]} in
    kafka | kafka-[0-9]) nodes+=("${SERVICES[i]}") ;;
    *) stop_nodes; bash "$LOCAL_DIR/${SERVICES[i]}.sh" stop || rc=1 ;;
  esac
done
stop_nodes
exit $rc
