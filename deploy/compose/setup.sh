#!/usr/bin/env bash
# Compose's one-shot `setup` service: what `make demo` does before starting processes.
# Every step is idempotent, so `docker-compose up` may run it any number of times.
set -euo pipefail
ioc db migrate
ioc db panel-access >/dev/null # Grafana's views run as their definer (decision 0037)
ioc topics create
ioc db load-entities --profile "${IOC_PROVINCE_PROFILE:-binh-phuoc-2021}"
ioc connector outbox init-db
