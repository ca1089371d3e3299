-- The one-stop-shop (Một cửa) system's tables that the dossier connector reads, shaped as
-- that system keeps them. The connector's own position is in position/ (its schema).
-- Applied by `ioc connector outbox init-db` inside the configured schema
-- (IOC_OUTBOX_SCHEMA); every statement is idempotent.

-- Current state of each dossier (the system's main table).
CREATE TABLE IF NOT EXISTS dossier (
    dossier_id      text        PRIMARY KEY,
    procedure_code  text        NOT NULL,
    agency_code     text        NOT NULL,
    area_code       text        NOT NULL,
    level           smallint    NOT NULL CHECK (level BETWEEN 1 AND 4),
    channel         text        NOT NULL,
    status          text        NOT NULL,
    applicant_id    text,                 -- raw citizen id: hashed by the connector
    received_at     timestamptz,
    due_at          timestamptz,
    paid_online     boolean     NOT NULL DEFAULT false,
    digitized       boolean     NOT NULL DEFAULT false,
    last_history_id bigint      NOT NULL, -- the status-history row that set this state
    updated_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS dossier_status_idx ON dossier (status);

-- Append-only status history: the outbox. The system inserts one row per status change
-- in the same transaction that updates `dossier`; rows are never updated or deleted.
-- Ids come from a sequence, so they are allocated in order but COMMITTED out of order:
-- the connector re-reads a window below its position to catch late commits.
CREATE TABLE IF NOT EXISTS dossier_status_history (
    id              bigserial   PRIMARY KEY,
    dossier_id      text        NOT NULL,
    procedure_code  text        NOT NULL,
    agency_code     text        NOT NULL, -- differs from the previous row on a transfer
    area_code       text        NOT NULL,
    level           smallint    NOT NULL CHECK (level BETWEEN 1 AND 4),
    channel         text        NOT NULL,
    status          text        NOT NULL,
    previous_status text,
    applicant_id    text,
    changed_at      timestamptz NOT NULL,
    received_at     timestamptz,
    due_at          timestamptz,          -- the latest due date, extensions included
    paid_online     boolean     NOT NULL DEFAULT false,
    digitized       boolean     NOT NULL DEFAULT false,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS dossier_status_history_dossier_idx
    ON dossier_status_history (dossier_id, id);
