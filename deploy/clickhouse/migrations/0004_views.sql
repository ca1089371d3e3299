-- What panels read: the latest version of every result, of the live generation only,
-- and area-level KPIs summed from the groups' additive parts at read time.
-- No materialized view over the versioned KPI tables: it would count every version.
-- Written for 18.16 and current ClickHouse alike: one JOIN per SELECT (18.16 has no
-- multi-join), USING instead of ON, ALL INNER JOIN.

-- area → itself and each ancestor, for rollups to any level of any hierarchy depth;
-- loaded with the profile by `ioc db load-entities`.
CREATE TABLE IF NOT EXISTS {db}.area_paths
(
    profile LC(String),
    code String,
    level LC(String),
    ancestor_code String,
    ancestor_level LC(String),
    ancestor_depth UInt8,
    loaded_at_ms UInt64
)
ENGINE = ReplacingMergeTree(loaded_at_ms)
ORDER BY (profile, code, ancestor_code);

-- The live run is generation 1 until a rebuild is promoted.
INSERT INTO {db}.generations (generation, application_id, kind, range_from, range_to, status, promoted, note, updated_at_ms)
SELECT 1, 'ioc', 'live', NULL, NULL, 'live', 1, 'initial live generation', 0;

CREATE VIEW IF NOT EXISTS {db}.live_generation AS
SELECT max(generation) AS generation FROM {db}.generations FINAL WHERE promoted = 1;

CREATE VIEW IF NOT EXISTS {db}.kpi_traffic_live AS
SELECT * FROM {db}.kpi_traffic FINAL
WHERE generation = (SELECT max(generation) FROM {db}.generations FINAL WHERE promoted = 1);

CREATE VIEW IF NOT EXISTS {db}.kpi_energy_live AS
SELECT * FROM {db}.kpi_energy FINAL
WHERE generation = (SELECT max(generation) FROM {db}.generations FINAL WHERE promoted = 1);

CREATE VIEW IF NOT EXISTS {db}.kpi_qr_live AS
SELECT * FROM {db}.kpi_qr FINAL
WHERE generation = (SELECT max(generation) FROM {db}.generations FINAL WHERE promoted = 1);

CREATE VIEW IF NOT EXISTS {db}.kpi_dossier_live AS
SELECT * FROM {db}.kpi_dossier FINAL
WHERE generation = (SELECT max(generation) FROM {db}.generations FINAL WHERE promoted = 1);

CREATE VIEW IF NOT EXISTS {db}.anomalies_live AS
SELECT * FROM {db}.anomalies FINAL
WHERE generation = (SELECT max(generation) FROM {db}.generations FINAL WHERE promoted = 1);

CREATE VIEW IF NOT EXISTS {db}.dossier_state_latest AS
SELECT * FROM {db}.dossier_state FINAL;

-- Group rows joined to their area and every ancestor of it.
CREATE VIEW IF NOT EXISTS {db}.group_areas AS
SELECT entity_kind, entity_id, ancestor_code, ancestor_level
FROM (SELECT entity_kind, entity_id, area_code AS code FROM {db}.entities FINAL) AS g
ALL INNER JOIN (SELECT code, ancestor_code, ancestor_level FROM {db}.area_paths FINAL) AS p USING code;

-- Sums first (inner), ratios of sums second (outer): means from sums and counts,
-- never averages of averages.
CREATE VIEW IF NOT EXISTS {db}.kpi_traffic_by_area AS
SELECT *,
    if(vehicles = 0, NULL, speed_x_vehicles / vehicles) AS mean_speed_kmh,
    if(observations = 0, NULL, occupancy_sum / observations) AS mean_occupancy,
    if(free_flow_x_vehicles = 0, NULL,
       greatest(0., 1. - speed_x_vehicles / free_flow_x_vehicles)) AS congestion_index
FROM
(
    SELECT
        ancestor_level AS area_level, ancestor_code AS area_code, window_size, window_start,
        sum(observations) AS observations, sum(vehicles) AS vehicles,
        sum(motorcycles) AS motorcycles, sum(cars) AS cars, sum(trucks) AS trucks,
        sum(buses) AS buses, sum(speed_x_vehicles) AS speed_x_vehicles,
        sum(free_flow_x_vehicles) AS free_flow_x_vehicles, sum(occupancy_sum) AS occupancy_sum,
        sum(period_s_sum) AS period_s_sum,
        sum(sensors_reporting) AS sensors_reporting, sum(sensors_expected) AS sensors_expected
    FROM (SELECT * FROM {db}.kpi_traffic_live WHERE entity_kind = 'segment') AS k
    ALL INNER JOIN (SELECT entity_id, ancestor_code, ancestor_level FROM {db}.group_areas WHERE entity_kind = 'segment') AS a USING entity_id
    GROUP BY area_level, area_code, window_size, window_start
);

CREATE VIEW IF NOT EXISTS {db}.kpi_energy_by_area AS
SELECT *,
    if(readings = 0, NULL, power_kw_sum / readings) AS mean_power_kw,
    if(voltage_samples = 0, NULL, voltage_sum / voltage_samples) AS mean_voltage_v
FROM
(
    SELECT
        ancestor_level AS area_level, ancestor_code AS area_code, window_size, window_start,
        sum(readings) AS readings, sum(energy_kwh) AS energy_kwh, sum(power_kw_sum) AS power_kw_sum,
        sum(voltage_sum) AS voltage_sum, sum(voltage_samples) AS voltage_samples,
        min(voltage_min_v) AS voltage_min_v, max(voltage_max_v) AS voltage_max_v,
        sum(seconds_outside_voltage) AS seconds_outside_voltage,
        sum(register_resets) AS register_resets,
        sum(meters_reporting) AS meters_reporting, sum(meters_expected) AS meters_expected
    FROM (SELECT * FROM {db}.kpi_energy_live WHERE entity_kind = 'feeder') AS k
    ALL INNER JOIN (SELECT entity_id, ancestor_code, ancestor_level FROM {db}.group_areas WHERE entity_kind = 'feeder') AS a USING entity_id
    GROUP BY area_level, area_code, window_size, window_start
);

CREATE VIEW IF NOT EXISTS {db}.kpi_qr_by_area AS
SELECT *,
    toInt64(scans_in) - toInt64(scans_out) AS net_flow,
    if(scans = 0, NULL, not_green / scans) AS share_not_green
FROM
(
    SELECT
        ancestor_level AS area_level, ancestor_code AS area_code, window_size, window_start,
        sum(scans) AS scans, sum(scans_in) AS scans_in, sum(scans_out) AS scans_out,
        sum(persons) AS persons, sum(vehicles) AS vehicles, sum(not_green) AS not_green
    FROM (SELECT * FROM {db}.kpi_qr_live WHERE entity_kind = 'checkpoint') AS k
    ALL INNER JOIN (SELECT entity_id, ancestor_code, ancestor_level FROM {db}.group_areas WHERE entity_kind = 'checkpoint') AS a USING entity_id
    GROUP BY area_level, area_code, window_size, window_start
);

-- Distinct subjects are not additive: counted from raw events, per local day.
CREATE VIEW IF NOT EXISTS {db}.qr_distinct_by_area_day AS
SELECT ancestor_level AS area_level, ancestor_code AS area_code, day,
       uniqExact(subject_hash) AS distinct_subjects
FROM (SELECT area_code AS code, toDate(event_time) AS day, subject_hash FROM {db}.events_qr FINAL) AS e
ALL INNER JOIN (SELECT code, ancestor_code, ancestor_level FROM {db}.area_paths FINAL) AS p USING code
GROUP BY area_level, area_code, day;

CREATE VIEW IF NOT EXISTS {db}.kpi_dossier_by_area AS
SELECT *,
    if(received = 0, NULL, received_online / received) AS online_receipt_rate,
    if(finished + open_at_end = 0, NULL,
       1. - (finished_late + open_late_at_end) / (finished + open_at_end)) AS on_time_rate,
    if(finished = 0, NULL, processing_hours_sum / finished) AS mean_processing_hours
FROM
(
    SELECT
        ancestor_level AS area_level, ancestor_code AS area_code, window_size, window_start,
        sum(received) AS received, sum(received_online) AS received_online,
        sum(finished) AS finished, sum(finished_late) AS finished_late,
        sum(open_at_end) AS open_at_end, sum(open_late_at_end) AS open_late_at_end,
        sum(paid_online) AS paid_online, sum(digitized) AS digitized,
        sum(processing_hours_sum) AS processing_hours_sum
    FROM (SELECT * FROM {db}.kpi_dossier_live WHERE entity_kind = 'agency') AS k
    ALL INNER JOIN (SELECT entity_id, ancestor_code, ancestor_level FROM {db}.group_areas WHERE entity_kind = 'agency') AS a USING entity_id
    GROUP BY area_level, area_code, window_size, window_start
);
