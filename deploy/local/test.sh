#!/usr/bin/env bash
# `make test`: lint, the Helm chart, start the real local stack, run unit + integration
# tests, stop the stack. On failure the services' logs are printed. Set IOC_KEEP_STACK=1 to
# leave the stack running afterwards (for a developer iterating on tests).
set -uo pipefail
cd "$(dirname "$0")/../.."
here=deploy/local
VENV=${VENV:-.venv}

print_logs() {
  echo "===== service logs (last lines) =====" >&2
  for log in "${IOC_DATA_DIR:-.cache}"/logs/*.log; do
    [ -f "$log" ] || continue
    echo "----- $log -----" >&2
    tail -n 60 "$log" >&2
  done
}

stop_stack() {
  if [ "${IOC_KEEP_STACK:-0}" != "1" ]; then bash "$here/down.sh"; fi
}

set -e
# Debian packages first: unit tests run promtool and amtool on the rule and
# routing files, and a fresh machine has neither until the stack is installed.
bash "$here/install-system.sh"
# The Helm chart (make helm-check): builds helm on a fresh machine (minutes, once), so that
# tests/unit/test_helm_chart.py finds it; then lint, template and the Kubernetes schemas.
"$VENV/bin/python" -m ioc.tooling.helm_check
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"
"$VENV/bin/python" -m pytest -m unit -q -p no:cacheprovider
set +e

# The suite makes a database per test, and 18.16's <allow_databases> takes exact names: the
# sink and reader users see every database in the stack the tests start (decision 0037;
# tests/integration/clickhouse/ checks the confined users on a server of its own).
if ! IOC_CLICKHOUSE_CONFINE_DATABASES=false bash "$here/up.sh"; then
  print_logs
  stop_stack
  exit 1
fi
# --tb=short: CI shows the head and the tail of a failed run; the failure message (which
# names what each worker was doing) must fit in the head, not behind the test source.
"$VENV/bin/python" -m pytest -m integration -q -p no:cacheprovider --tb=short
rc=$?
if [ $rc -ne 0 ]; then print_logs; fi
stop_stack
exit $rc
