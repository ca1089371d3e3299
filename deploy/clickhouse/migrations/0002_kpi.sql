-- KPI rows of every window size (1m, 15m, 1h, 1d tumbling; day and month calendar
-- periods for dossiers), one table per domain, the window size a key column.
-- Additive parts only (sums, counts, min/max): area-level KPIs are sums of group
-- rows at read time. ReplacingMergeTree(version), version = generation·2³² + sequence:
-- a re-emitted window replaces its earlier version. generation is in the key so a
-- rebuild's rows live beside the live ones until it is promoted.

CREATE TABLE IF NOT EXISTS {db}.kpi_traffic
(
    entity_kind LC(String),
    entity_id LC(String),
    group_id LC(String),
    window_size LC(String),
    window_start DateTime('Asia/Ho_Chi_Minh'),
    window_end DateTime('Asia/Ho_Chi_Minh'),
    observations UInt64,
    vehicles UInt64,
    motorcycles UInt64,
    cars UInt64,
    trucks UInt64,
    buses UInt64,
    speed_x_vehicles Float64,
    free_flow_x_vehicles Float64,
    occupancy_sum Float64,
    period_s_sum UInt64,
    congested_observations UInt64,
    speed_min_kmh Nullable(Float64),
    speed_max_kmh Nullable(Float64),
    sensors_reporting UInt32,
    sensors_expected UInt32,
    computed_at_ms UInt64,
    generation UInt32,
    sequence UInt32,
    version UInt64,
    written_at_ms UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_size, entity_kind, entity_id, window_start, generation);

CREATE TABLE IF NOT EXISTS {db}.kpi_energy
(
    entity_kind LC(String),
    entity_id LC(String),
    group_id LC(String),
    window_size LC(String),
    window_start DateTime('Asia/Ho_Chi_Minh'),
    window_end DateTime('Asia/Ho_Chi_Minh'),
    readings UInt64,
    energy_kwh Float64,
    power_kw_sum Float64,
    power_kw_max Nullable(Float64),
    voltage_sum Float64,
    voltage_samples UInt64,
    voltage_min_v Nullable(Float64),
    voltage_max_v Nullable(Float64),
    seconds_outside_voltage Float64,
    frequency_dev_abs_sum Float64,
    frequency_samples UInt64,
    register_resets UInt32,
    register_rollovers UInt32,
    meters_reporting UInt32,
    meters_expected UInt32,
    computed_at_ms UInt64,
    generation UInt32,
    sequence UInt32,
    version UInt64,
    written_at_ms UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_size, entity_kind, entity_id, window_start, generation);

CREATE TABLE IF NOT EXISTS {db}.kpi_qr
(
    entity_kind LC(String),
    entity_id LC(String),
    group_id LC(String),
    window_size LC(String),
    window_start DateTime('Asia/Ho_Chi_Minh'),
    window_end DateTime('Asia/Ho_Chi_Minh'),
    scans UInt64,
    scans_in UInt64,
    scans_out UInt64,
    persons UInt64,
    vehicles UInt64,
    not_green UInt64,
    distinct_subjects UInt64,
    computed_at_ms UInt64,
    generation UInt32,
    sequence UInt32,
    version UInt64,
    written_at_ms UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_size, entity_kind, entity_id, window_start, generation);

CREATE TABLE IF NOT EXISTS {db}.kpi_dossier
(
    entity_kind LC(String),
    entity_id LC(String),
    group_id LC(String),
    window_size LC(String),
    window_start DateTime('Asia/Ho_Chi_Minh'),
    window_end DateTime('Asia/Ho_Chi_Minh'),
    received UInt64,
    received_online UInt64,
    finished UInt64,
    finished_late UInt64,
    open_at_end UInt64,
    open_late_at_end UInt64,
    paid_online UInt64,
    digitized UInt64,
    processing_hours_sum Float64,
    excluded UInt64,
    computed_at_ms UInt64,
    generation UInt32,
    sequence UInt32,
    version UInt64,
    written_at_ms UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_size, entity_kind, entity_id, window_start, generation);
