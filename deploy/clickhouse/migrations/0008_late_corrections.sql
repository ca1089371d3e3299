-- Late events are corrections (docs/decisions/0023): a late event whose window the
-- worker no longer holds arrives as a delta, and the sink merges it into the stored
-- row of its window, which then says how many late events it took and which ones (a
-- second copy of a late event is merged once). A group row (segment, feeder) lists its
-- reporting members, so a correction by a member already counted does not count it again.
-- The *_live views are re-created so that they see the new columns.

ALTER TABLE {db}.kpi_traffic ADD COLUMN members Array(String);
ALTER TABLE {db}.kpi_traffic ADD COLUMN late_events UInt32;
ALTER TABLE {db}.kpi_traffic ADD COLUMN late_ids Array(UUID);
ALTER TABLE {db}.kpi_energy ADD COLUMN members Array(String);
ALTER TABLE {db}.kpi_energy ADD COLUMN late_events UInt32;
ALTER TABLE {db}.kpi_energy ADD COLUMN late_ids Array(UUID);
ALTER TABLE {db}.kpi_qr ADD COLUMN members Array(String);
ALTER TABLE {db}.kpi_qr ADD COLUMN late_events UInt32;
ALTER TABLE {db}.kpi_qr ADD COLUMN late_ids Array(UUID);
ALTER TABLE {db}.kpi_dossier ADD COLUMN members Array(String);
ALTER TABLE {db}.kpi_dossier ADD COLUMN late_events UInt32;
ALTER TABLE {db}.kpi_dossier ADD COLUMN late_ids Array(UUID);

DROP TABLE IF EXISTS {db}.kpi_traffic_live;
CREATE VIEW IF NOT EXISTS {db}.kpi_traffic_live AS
SELECT * FROM {db}.kpi_traffic FINAL
WHERE generation IN (SELECT generation FROM {db}.generations FINAL WHERE promoted = 1)
ORDER BY generation DESC
LIMIT 1 BY window_size, entity_kind, entity_id, window_start;

DROP TABLE IF EXISTS {db}.kpi_energy_live;
CREATE VIEW IF NOT EXISTS {db}.kpi_energy_live AS
SELECT * FROM {db}.kpi_energy FINAL
WHERE generation IN (SELECT generation FROM {db}.generations FINAL WHERE promoted = 1)
ORDER BY generation DESC
LIMIT 1 BY window_size, entity_kind, entity_id, window_start;

DROP TABLE IF EXISTS {db}.kpi_qr_live;
CREATE VIEW IF NOT EXISTS {db}.kpi_qr_live AS
SELECT * FROM {db}.kpi_qr FINAL
WHERE generation IN (SELECT generation FROM {db}.generations FINAL WHERE promoted = 1)
ORDER BY generation DESC
LIMIT 1 BY window_size, entity_kind, entity_id, window_start;

DROP TABLE IF EXISTS {db}.kpi_dossier_live;
CREATE VIEW IF NOT EXISTS {db}.kpi_dossier_live AS
SELECT * FROM {db}.kpi_dossier FINAL
WHERE generation IN (SELECT generation FROM {db}.generations FINAL WHERE promoted = 1)
ORDER BY generation DESC
LIMIT 1 BY window_size, entity_kind, entity_id, window_start;
