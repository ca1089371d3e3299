#!/usr/bin/env bash
# One line per service: name, port(s), pid, health (a real request, not just
# an open port), detail. Informational: always exits 0.
# Usage: bash deploy/local/status.sh [service...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
select_services "$@"

load_settings
printf '%-20s %-17s %-8s %-5s %s\n' SERVICE PORTS PID STATE DETAIL
for s in "${SERVICES[@]}"; do
  bash "$LOCAL_DIR/$s.sh" status || true
done
echo "(data, logs and pid files under $IOC_DATA_DIR)"
exit 0
