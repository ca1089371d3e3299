"""The MQTT bridge: sensor telemetry from Mosquitto to Kafka, acknowledged after Kafka."""
