-- Data quality per stream (domain), source and 1-minute window, as the workers emit it
-- on ioc.dq.v1 (docs/decisions/0012-data-quality-records.md): one row per source-topic
-- partition, additive counts, so a source's minute is the sum of its partitions' rows.
-- ReplacingMergeTree(version), version = generation·2³² + sequence: a minute re-emitted
-- (a count that landed while it was held, or a worker's recovery) replaces its earlier
-- row; generation is in the key, like the kpi tables.
-- invalid = sum(invalid_counts); invalid_reasons/invalid_counts are parallel arrays.
-- events = valid events received (applied + late + duplicates).

CREATE TABLE IF NOT EXISTS {db}.dq
(
    domain LC(String),
    source LC(String),
    source_partition Int32,
    window_start DateTime('Asia/Ho_Chi_Minh'),
    window_end DateTime('Asia/Ho_Chi_Minh'),
    events UInt64,
    late UInt64,
    duplicates UInt64,
    invalid UInt64,
    invalid_reasons Array(LC(String)),
    invalid_counts Array(UInt64),
    last_seen Nullable(DateTime('Asia/Ho_Chi_Minh')),
    generation UInt32,
    sequence UInt32,
    version UInt64,
    written_at_ms UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (domain, source, window_start, source_partition, generation);

-- Promoted generations layered per row key, like the kpi_*_live views (migration 0005).
CREATE VIEW IF NOT EXISTS {db}.dq_live AS
SELECT * FROM {db}.dq FINAL
WHERE generation IN (SELECT generation FROM {db}.generations FINAL WHERE promoted = 1)
ORDER BY generation DESC
LIMIT 1 BY domain, source, source_partition, window_start;

-- A source's minute: the sum of its partitions' rows.
CREATE VIEW IF NOT EXISTS {db}.dq_by_source AS
SELECT domain, source, window_start, window_end,
    sum(events) AS events, sum(late) AS late, sum(duplicates) AS duplicates,
    sum(invalid) AS invalid, max(last_seen) AS last_seen
FROM {db}.dq_live
GROUP BY domain, source, window_start, window_end;

CREATE VIEW IF NOT EXISTS {db}.dq_invalid_by_reason AS
SELECT domain, source, window_start, reason, sum(n) AS invalid
FROM {db}.dq_live
ARRAY JOIN invalid_reasons AS reason, invalid_counts AS n
GROUP BY domain, source, window_start, reason;
