-- Anomalies (versioned like KPIs), the latest status per dossier, dead letters,
-- the profile (entities, areas) and the rebuild registry (generations).

CREATE TABLE IF NOT EXISTS {db}.anomalies
(
    anomaly_id String,
    domain LC(String),
    entity_kind LC(String),
    entity_id LC(String),
    group_id LC(String),
    area_code LC(String),
    metric LC(String),
    detector LC(String),
    severity LC(String),
    observed Nullable(Float64),
    expected Nullable(Float64),
    score Float64,
    state LC(String),
    started_at DateTime('Asia/Ho_Chi_Minh'),
    updated_at DateTime('Asia/Ho_Chi_Minh'),
    ended_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    description String,
    generation UInt32,
    sequence UInt32,
    version UInt64,
    written_at_ms UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (anomaly_id, generation);

-- Open backlog and overdue-now panels read this at query time (no timers):
-- versioned by the outbox id of the status-history row, so the latest change wins
-- whatever order the sink sees them in.
CREATE TABLE IF NOT EXISTS {db}.dossier_state
(
    dossier_id String,
    agency_code LC(String),
    area_code LC(String),
    procedure_code LC(String),
    channel LC(String),
    status LC(String),
    is_open UInt8,
    received_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    due_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    changed_at DateTime('Asia/Ho_Chi_Minh'),
    outbox_id UInt64,
    written_at_ms UInt64
)
ENGINE = ReplacingMergeTree(outbox_id)
ORDER BY dossier_id;

-- deadletter_id is unique per failure (the dead-letter topic's partition/offset, or
-- the sink's own source position), so a re-read dead letter collapses.
CREATE TABLE IF NOT EXISTS {db}.deadletter
(
    deadletter_id String,
    source_topic LC(String),
    source_partition Int32,
    source_offset Int64,
    key String,
    reason LC(String),
    error String,
    payload String,
    producer LC(String),
    failed_at DateTime('Asia/Ho_Chi_Minh'),
    written_at_ms UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(failed_at)
ORDER BY deadletter_id
[[ttl: TTL failed_at + INTERVAL 30 DAY]];

CREATE TABLE IF NOT EXISTS {db}.areas
(
    profile LC(String),
    code String,
    name String,
    level LC(String),
    depth UInt8,
    parent_code String,
    latitude Nullable(Float64),
    longitude Nullable(Float64),
    loaded_at_ms UInt64
)
ENGINE = ReplacingMergeTree(loaded_at_ms)
ORDER BY (profile, code);

CREATE TABLE IF NOT EXISTS {db}.entities
(
    profile LC(String),
    entity_kind LC(String),
    entity_id String,
    group_id String,
    name String,
    area_code String,
    latitude Nullable(Float64),
    longitude Nullable(Float64),
    attributes String,
    loaded_at_ms UInt64
)
ENGINE = ReplacingMergeTree(loaded_at_ms)
ORDER BY (profile, entity_kind, entity_id);

-- Every run that writes results has a generation; panels read the promoted one with
-- the highest number (see the views in later migrations).
CREATE TABLE IF NOT EXISTS {db}.generations
(
    generation UInt32,
    application_id String,
    kind LC(String),
    range_from Nullable(DateTime('Asia/Ho_Chi_Minh')),
    range_to Nullable(DateTime('Asia/Ho_Chi_Minh')),
    status LC(String),
    promoted UInt8,
    note String,
    updated_at_ms UInt64
)
ENGINE = ReplacingMergeTree(updated_at_ms)
ORDER BY generation;
