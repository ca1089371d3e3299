#!/usr/bin/env bash
# Run once by the postgres image on a new data volume (docker-entrypoint-initdb.d): the
# outbox poller's own login role, with no rights; `ioc connector outbox init-db` (the
# setup service) grants it reading the dossier tables and writing its position only.
set -euo pipefail
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" \
  -v poller="$IOC_OUTBOX_USER" -v pass="$IOC_OUTBOX_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'poller', :'pass') \gexec
SELECT format('REVOKE CREATE, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()) \gexec
SQL
