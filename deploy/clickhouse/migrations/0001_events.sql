-- Validated raw events, one table per stream.
-- ReplacingMergeTree ORDER BY (entity, event_time, event_id): a redelivered event has
-- the same key and collapses on merge / FINAL; old servers ignore insert
-- de-duplication tokens, so the key is what makes replays idempotent.
-- written_at_ms is stamped by the sink (old servers have no DateTime64) for latency.
-- [[ttl: ...]] clauses are kept only on servers that support TTL; elsewhere
-- `ioc db retention` drops old partitions.

CREATE TABLE IF NOT EXISTS {db}.events_qr
(
    event_id UUID,
    source LC(String),
    schema_version LC(String),
    checkpoint_id LC(String),
    area_code LC(String),
    event_time DateTime('Asia/Ho_Chi_Minh'),
    event_time_ms UInt64,
    subject_kind LC(String),
    subject_hash String,
    pii_key_id LC(String),
    direction LC(String),
    declaration_status LC(String),
    device_id LC(String),
    kafka_partition Int32,
    kafka_offset Int64,
    written_at_ms UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (checkpoint_id, event_time, event_id)
[[ttl: TTL event_time + INTERVAL {raw_retention_days} DAY]];

CREATE TABLE IF NOT EXISTS {db}.events_traffic
(
    event_id UUID,
    source LC(String),
    schema_version LC(String),
    sensor_id LC(String),
    segment_id LC(String),
    lane_id LC(String),
    event_time DateTime('Asia/Ho_Chi_Minh'),
    event_time_ms UInt64,
    period_s UInt32,
    intensity UInt32,
    average_speed_kmh Float64,
    occupancy Float64,
    motorcycle UInt32,
    car UInt32,
    truck UInt32,
    bus UInt32,
    congested Nullable(UInt8),
    kafka_partition Int32,
    kafka_offset Int64,
    written_at_ms UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (sensor_id, event_time, event_id)
[[ttl: TTL event_time + INTERVAL {raw_retention_days} DAY]];

CREATE TABLE IF NOT EXISTS {db}.events_energy
(
    event_id UUID,
    source LC(String),
    schema_version LC(String),
    meter_id LC(String),
    feeder_id LC(String),
    area_code LC(String),
    event_time DateTime('Asia/Ho_Chi_Minh'),
    event_time_ms UInt64,
    active_power_kw Float64,
    energy_kwh_total Float64,
    voltage_l1_v Float64,
    voltage_l2_v Nullable(Float64),
    voltage_l3_v Nullable(Float64),
    current_l1_a Nullable(Float64),
    current_l2_a Nullable(Float64),
    current_l3_a Nullable(Float64),
    power_factor Nullable(Float64),
    frequency_hz Nullable(Float64),
    kafka_partition Int32,
    kafka_offset Int64,
    written_at_ms UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (meter_id, event_time, event_id)
[[ttl: TTL event_time + INTERVAL {raw_retention_days} DAY]];

CREATE TABLE IF NOT EXISTS {db}.events_dossier
(
    event_id UUID,
    source LC(String),
    schema_version LC(String),
    dossier_id String,
    procedure_code LC(String),
    agency_code LC(String),
    area_code LC(String),
    level UInt8,
    channel LC(String),
    status LC(String),
    previous_status Nullable(String),
    event_time DateTime('Asia/Ho_Chi_Minh'),
    event_time_ms UInt64,
    received_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    due_at Nullable(DateTime('Asia/Ho_Chi_Minh')),
    paid_online UInt8,
    digitized UInt8,
    outbox_id UInt64,
    applicant_hash Nullable(String),
    kafka_partition Int32,
    kafka_offset Int64,
    written_at_ms UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (dossier_id, event_time, event_id)
[[ttl: TTL event_time + INTERVAL {raw_retention_days} DAY]];
