#!/usr/bin/env bash
# Stop what up.sh started (or only the services named), by recorded PID:
# SIGTERM (SIGINT for PostgreSQL), up to 20 s, then SIGKILL. Processes we did
# not start are never touched. Usage: bash deploy/local/down.sh [service...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
select_services "$@"
load_settings

# Reverse start order: producers/scrapers first, stores last.
rc=0
for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
  bash "$LOCAL_DIR/${SERVICES[i]}.sh" stop || rc=1
done
exit $rc
