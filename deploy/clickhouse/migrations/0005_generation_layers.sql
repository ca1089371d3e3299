-- Promoted generations layer per key (docs/decisions/0009-replay-and-generations.md).
-- A rebuild (`ioc replay rebuild`) covers a time range, not all history. Once promoted,
-- its rows replace the live ones for the windows (and anomalies) it recomputed, and
-- the live generation's rows still show everywhere else — including every window the
-- live worker writes after the range. Per key, the highest promoted generation wins.
-- The alerter follows only live generations (kind 'live'): a promoted rebuild's
-- anomalies are history and page nobody.
-- Views are dropped and re-created (18.16 has no CREATE OR REPLACE VIEW); a crash in
-- between re-runs both harmlessly, and views hold no data.

DROP TABLE IF EXISTS {db}.live_generation;
CREATE VIEW IF NOT EXISTS {db}.live_generation AS
SELECT max(generation) AS generation FROM {db}.generations FINAL WHERE promoted = 1 AND kind = 'live';

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

DROP TABLE IF EXISTS {db}.anomalies_live;
CREATE VIEW IF NOT EXISTS {db}.anomalies_live AS
SELECT * FROM {db}.anomalies FINAL
WHERE generation IN (SELECT generation FROM {db}.generations FINAL WHERE promoted = 1)
ORDER BY generation DESC
LIMIT 1 BY anomaly_id;
