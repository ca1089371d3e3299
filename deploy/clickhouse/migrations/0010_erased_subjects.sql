-- The erasure register (decision 0041): every subject hash `ioc db erase` erased, when
-- and why. Never the raw identifier: the hash is what the stored rows and the Kafka
-- records carry. The sink drops rows of these hashes (Kafka keeps the events for the
-- replay horizon, replay copies keep them for good), and `ioc replay copy` skips them.
-- until_ms: the last event time (epoch ms) the erasure covers: the erasure's time plus
-- the clock skew the connectors accept; later events of the same hash are new data.
-- A plain MergeTree: rows are only added (a hash erased twice is two rows), and the
-- register is kept for as long as any topic, copy or backup may hold the hash: no TTL.

CREATE TABLE IF NOT EXISTS {db}.erased_subjects
(
    subject_hash String,
    key_id LC(String),
    erased_at DateTime('Asia/Ho_Chi_Minh'),
    erased_at_ms UInt64,
    until_ms UInt64,
    reason String,
    erased_by String
)
ENGINE = MergeTree
ORDER BY (subject_hash, erased_at_ms);
