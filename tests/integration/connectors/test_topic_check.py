"""Connectors refuse to start on missing topics (the broker does not auto-create them),
and --create-topics creates them from the registry."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from kafka import KafkaConsumer

from ioc.kafka_client import kafka_client_options
from ioc.ops.kafka_admin import admin_client
from ioc.settings import Settings
from ioc.wiring.connectors import check_topics

pytestmark = pytest.mark.integration


def test_missing_topics_stop_the_command_and_can_be_created(kafka_ready: Settings) -> None:
    suffix = f".absent-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "IOC_CONNECTOR_TOPIC_SUFFIX": suffix, "IOC_MQTT_METRICS_PORT": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "ioc", "connector", "mqtt"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "missing topics" in done.stdout + done.stderr

    settings = kafka_ready.model_copy(update={"connector_topic_suffix": suffix})
    check_topics(settings, create=True)
    check_topics(settings, create=False)  # now present: no error
    consumer = KafkaConsumer(**kafka_client_options(settings))
    try:
        assert consumer.partitions_for_topic(f"ioc.qr.scans.v1{suffix}") == {0, 1, 2}
        assert consumer.partitions_for_topic(f"ioc.deadletter.v1{suffix}") == {0}
    finally:
        consumer.close()
    admin = admin_client(settings)
    try:
        admin.delete_topics([t for t in admin.list_topics() if t.endswith(suffix)])
    finally:
        admin.close()
