"""Issue 16: the broker refuses clients without credentials, with a wrong password or
without TLS, and a valid account doing another's job (decision 0033).

On the stack's Mosquitto (settings.mosquitto_port), MQTT v5 so that each refusal has its
reason code: CONNACK 0x86/0x87, PUBACK and SUBACK 0x87. Publishes that must be dropped go
to ``it/<unique>/...`` copies of the device topics (the ACL grants devices the same topics
there), where a watcher logged in as the bridge proves what was and was not delivered;
refusals on the production topics themselves are asserted by their PUBACK alone.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.sources.mqtt.security import TEST_ACCOUNT, MqttLogin
from ioc.settings import Settings
from ioc.wiring.connectors import device_login, mqtt_login
from schemas.province.loading import load_profile
from tests.integration.conftest import require_port
from tests.integration.connectors.mqtt_security_helpers import (
    BAD_CREDENTIALS,
    NOT_AUTHORIZED,
    Probe,
)


@pytest.fixture
def broker(settings: Settings) -> Settings:
    require_port(settings, "mosquitto", settings.mosquitto_port)
    return settings


@pytest.fixture
def devices(settings: Settings) -> tuple[str, str, str]:
    """Two traffic sensors and a meter of the profile (each has an account on the broker)."""
    profile = load_profile(settings.province_profile)
    return profile.sensors[0].sensor_id, profile.sensors[1].sensor_id, profile.meters[0].meter_id


@pytest.fixture
def probes(broker: Settings, unique: str) -> Iterator[list[Probe]]:
    opened: list[Probe] = []
    yield opened
    for probe in opened:
        probe.close()


def open_as(probes: list[Probe], settings: Settings, login: MqttLogin, name: str) -> Probe:
    probe = Probe(settings, login, f"sec-{name}-{len(probes)}")
    probes.append(probe)
    rc = probe.open()
    assert rc is not None, f"no CONNACK for {login.username}"
    assert not rc.is_failure, f"{login.username} could not log in: {rc}"
    return probe


def test_no_credentials_and_a_wrong_password_are_refused(
    broker: Settings, probes: list[Probe], devices: tuple[str, str, str]
) -> None:
    sensor = devices[0]
    for login in (
        mqtt_login(broker, "", ""),  # anonymous
        mqtt_login(broker, sensor, "not-its-password"),
        mqtt_login(broker, broker.mqtt_username, "not-the-bridge-password"),
        mqtt_login(broker, "no-such-device", "whatever"),
    ):
        probe = Probe(broker, login, f"sec-refused-{len(probes)}")
        probes.append(probe)
        rc = probe.open()
        assert rc is not None, f"no CONNACK for {login.username!r}"
        assert rc.is_failure, login.username
        assert int(rc.value) in (BAD_CREDENTIALS, NOT_AUTHORIZED), rc


def test_plain_tcp_is_refused(broker: Settings, probes: list[Probe]) -> None:
    good = device_login(broker, TEST_ACCOUNT)
    assert good.tls, "the stack's broker is TLS only; IOC_MQTT_TLS_CA_FILE=none is not for it"
    plain = MqttLogin(good.username, good.password, tls=False)
    probe = Probe(broker, plain, f"sec-plain-{len(probes)}")
    probes.append(probe)
    assert probe.open(timeout_s=5) is None, "a plain MQTT CONNECT got an answer"
    assert not probe.answered.is_set()


def test_each_account_may_do_its_own_job_only(
    broker: Settings, probes: list[Probe], devices: tuple[str, str, str], unique: str
) -> None:
    sensor_a, sensor_b, meter = devices
    ns = f"it/{unique}/"

    def traffic(device: str, prefix: str = ns) -> str:
        return prefix + broker.mqtt_traffic_topics.split(",")[0].strip().replace("+", device)

    def energy(device: str, prefix: str = ns) -> str:
        return prefix + broker.mqtt_energy_topics.split(",")[0].strip().replace("+", device)

    watcher = open_as(probes, broker, mqtt_login(broker), f"watch-{unique}")
    assert watcher.subscribe(ns + "#") == [1]
    a = open_as(probes, broker, device_login(broker, sensor_a), f"a-{unique}")
    m = open_as(probes, broker, device_login(broker, meter), f"m-{unique}")
    test = open_as(probes, broker, device_login(broker, TEST_ACCOUNT), f"t-{unique}")

    # A sensor under its own id, a meter under its own: delivered.
    assert a.publish(traffic(sensor_a), b"a-own") < 0x80
    assert m.publish(energy(meter), b"m-own") < 0x80
    watcher.wait_for(b"m-own")

    # Another sensor's topic, the other class's topic: refused and never delivered.
    assert a.publish(traffic(sensor_b), b"a-as-b") == NOT_AUTHORIZED
    assert a.publish(energy(sensor_a), b"a-as-meter") == NOT_AUTHORIZED
    assert m.publish(traffic(meter), b"m-as-sensor") == NOT_AUTHORIZED
    assert a.publish(traffic(sensor_b, prefix=""), b"a-as-b") == NOT_AUTHORIZED
    assert a.publish(energy(meter, prefix=""), b"a-as-meter") == NOT_AUTHORIZED
    assert m.publish(traffic(sensor_a, prefix=""), b"m-as-sensor") == NOT_AUTHORIZED
    # The bridge reads and never writes; the test account never poses as a device.
    assert watcher.publish(traffic(sensor_a), b"bridge-writes") == NOT_AUTHORIZED
    assert watcher.publish(traffic(sensor_a, prefix=""), b"bridge-writes") == NOT_AUTHORIZED
    assert test.publish(traffic(sensor_a, prefix=""), b"test-as-a") == NOT_AUTHORIZED

    # Everything the watcher got, up to a marker sent last: only the two own publishes.
    assert a.publish(traffic(sensor_a), b"marker") < 0x80
    received = watcher.wait_for(b"marker")
    assert sorted(p for _t, p in received) == [b"a-own", b"m-own", b"marker"], received


def test_a_device_reads_nothing(
    broker: Settings, probes: list[Probe], devices: tuple[str, str, str], unique: str
) -> None:
    sensor_a, _b, meter = devices
    ns = f"it/{unique}/"
    own = ns + broker.mqtt_traffic_topics.split(",")[0].strip().replace("+", sensor_a)
    a = open_as(probes, broker, device_login(broker, sensor_a), f"ra-{unique}")
    m = open_as(probes, broker, device_login(broker, meter), f"rm-{unique}")
    # Mosquitto 2.0 grants the subscription and checks read access on each message.
    assert a.subscribe(ns + "#", "city/#") == [1, 1]
    assert (
        m.publish(ns + broker.mqtt_energy_topics.split(",")[0].strip().replace("+", meter)) < 0x80
    )
    # The broker writes to a's connection in order: whatever it was to get arrives before
    # the PUBACK of a's own later publish (which a may not read back either).
    assert a.publish(own, b"flush") < 0x80
    assert a.messages == []
