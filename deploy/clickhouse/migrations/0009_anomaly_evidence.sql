-- Every anomaly carries its evidence (docs/detectors.md, "Evidence on every anomaly"):
-- beside the observed and expected values, the band the detector considered normal at
-- the latest update. NULL on a side where the detector has no bound (a rule "above T"
-- has only an upper one), and in rows written before this migration.
-- The anomalies_live view is re-created so that it sees the new columns (a view's
-- columns are fixed when it is created; 18.16 has no CREATE OR REPLACE VIEW).

ALTER TABLE {db}.anomalies ADD COLUMN expected_low Nullable(Float64) AFTER expected;
ALTER TABLE {db}.anomalies ADD COLUMN expected_high Nullable(Float64) AFTER expected_low;

DROP TABLE IF EXISTS {db}.anomalies_live;
CREATE VIEW IF NOT EXISTS {db}.anomalies_live AS
SELECT * FROM {db}.anomalies FINAL
WHERE generation IN (SELECT generation FROM {db}.generations FINAL WHERE promoted = 1)
ORDER BY generation DESC
LIMIT 1 BY anomaly_id;
