#!/usr/bin/env bash
# Node 3 of the three-node Kafka cluster (IOC_KAFKA_BROKERS=3): kafka.sh runs it.
# Usage: kafka-3.sh start|stop|status
IOC_KAFKA_NODE=3 exec bash "$(dirname "${BASH_SOURCE[0]}")/kafka.sh" "$@"
