#!/usr/bin/env bash
# Start the local stack (or only the services named): bash deploy/local/up.sh [service...]
# Services already running are left alone, so a second run changes nothing.
# Exits non-zero if any service did not become ready (its log tail is on stderr).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
select_services "$@"
load_settings

# A fresh machine gets its packages first; a no-op when all are present.
bash "$LOCAL_DIR/install-system.sh"

failed=()
for s in "${SERVICES[@]}"; do
  # Keep going so one broken service does not hide the state of the others.
  bash "$LOCAL_DIR/$s.sh" start || failed+=("$s")
done

echo
bash "$LOCAL_DIR/status.sh" "${SERVICES[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  log "up.sh: failed to start: ${failed[*]}"
  exit 1
fi
