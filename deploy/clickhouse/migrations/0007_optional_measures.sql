-- Measures real sensors may lack are optional (FIWARE TrafficFlowObserved and
-- ThreePhaseAcMeasurement make most of them so): a counting loop has no speed, a radar
-- no occupancy, a meter may send only its register. Events store NULL for a missing
-- measure; KPI rows count the observations that carried each one, and every mean
-- divides by that count, never by all observations (docs/streams.md, "Optional measures").
-- Rows written before this migration carried every measure: the counts default to the
-- totals. The views over the KPI tables are re-created so that they see the new columns
-- (a view's columns are fixed when it is created; 18.16 has no CREATE OR REPLACE VIEW).

ALTER TABLE {db}.events_traffic MODIFY COLUMN average_speed_kmh Nullable(Float64);
ALTER TABLE {db}.events_traffic MODIFY COLUMN occupancy Nullable(Float64);
ALTER TABLE {db}.events_energy MODIFY COLUMN active_power_kw Nullable(Float64);
ALTER TABLE {db}.events_energy MODIFY COLUMN voltage_l1_v Nullable(Float64);

ALTER TABLE {db}.kpi_traffic ADD COLUMN speed_vehicles UInt64 DEFAULT vehicles;
ALTER TABLE {db}.kpi_traffic ADD COLUMN occupancy_samples UInt64 DEFAULT observations;
ALTER TABLE {db}.kpi_energy ADD COLUMN power_samples UInt64 DEFAULT readings;

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

DROP TABLE IF EXISTS {db}.kpi_traffic_by_area;
CREATE VIEW IF NOT EXISTS {db}.kpi_traffic_by_area AS
SELECT *,
    if(speed_vehicles = 0, NULL, speed_x_vehicles / speed_vehicles) AS mean_speed_kmh,
    if(occupancy_samples = 0, NULL, occupancy_sum / occupancy_samples) AS mean_occupancy,
    if(free_flow_x_vehicles = 0, NULL,
       greatest(0., 1. - speed_x_vehicles / free_flow_x_vehicles)) AS congestion_index
FROM
(
    SELECT
        ancestor_level AS area_level, ancestor_code AS area_code, window_size, window_start,
        sum(observations) AS observations, sum(vehicles) AS vehicles,
        sum(motorcycles) AS motorcycles, sum(cars) AS cars, sum(trucks) AS trucks,
        sum(buses) AS buses, sum(speed_x_vehicles) AS speed_x_vehicles,
        sum(speed_vehicles) AS speed_vehicles, sum(occupancy_samples) AS occupancy_samples,
        sum(free_flow_x_vehicles) AS free_flow_x_vehicles, sum(occupancy_sum) AS occupancy_sum,
        sum(period_s_sum) AS period_s_sum,
        sum(sensors_reporting) AS sensors_reporting, sum(sensors_expected) AS sensors_expected
    FROM (SELECT * FROM {db}.kpi_traffic_live WHERE entity_kind = 'segment') AS k
    ALL INNER JOIN (SELECT entity_id, ancestor_code, ancestor_level FROM {db}.group_areas WHERE entity_kind = 'segment') AS a USING entity_id
    GROUP BY area_level, area_code, window_size, window_start
);

DROP TABLE IF EXISTS {db}.kpi_energy_by_area;
CREATE VIEW IF NOT EXISTS {db}.kpi_energy_by_area AS
SELECT *,
    if(power_samples = 0, NULL, power_kw_sum / power_samples) AS mean_power_kw,
    if(voltage_samples = 0, NULL, voltage_sum / voltage_samples) AS mean_voltage_v
FROM
(
    SELECT
        ancestor_level AS area_level, ancestor_code AS area_code, window_size, window_start,
        sum(readings) AS readings, sum(energy_kwh) AS energy_kwh, sum(power_kw_sum) AS power_kw_sum,
        sum(power_samples) AS power_samples,
        sum(voltage_sum) AS voltage_sum, sum(voltage_samples) AS voltage_samples,
        min(voltage_min_v) AS voltage_min_v, max(voltage_max_v) AS voltage_max_v,
        sum(seconds_outside_voltage) AS seconds_outside_voltage,
        sum(register_resets) AS register_resets,
        sum(meters_reporting) AS meters_reporting, sum(meters_expected) AS meters_expected
    FROM (SELECT * FROM {db}.kpi_energy_live WHERE entity_kind = 'feeder') AS k
    ALL INNER JOIN (SELECT entity_id, ancestor_code, ancestor_level FROM {db}.group_areas WHERE entity_kind = 'feeder') AS a USING entity_id
    GROUP BY area_level, area_code, window_size, window_start
);
