-- The outbox poller's position, in a schema of its own (IOC_OUTBOX_POSITION_SCHEMA):
-- the one place its read-only role (IOC_OUTBOX_USER) may write. Applied by
-- `ioc connector outbox init-db` inside that schema; idempotent.

-- One row per consumer name: updated only after Kafka acknowledged everything up to it.
CREATE TABLE IF NOT EXISTS ioc_outbox_position (
    consumer      text        PRIMARY KEY,
    last_id       bigint      NOT NULL DEFAULT 0,  -- highest history id written to Kafka
    seen_ids      bigint[]    NOT NULL DEFAULT '{}', -- ids written within the overlap window
    kafka_offsets jsonb       NOT NULL DEFAULT '{}', -- end offsets after the last write
    snapshot_done boolean     NOT NULL DEFAULT false,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
