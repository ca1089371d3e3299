"""The local broker's accounts and ACL (ioc.tooling.mqtt_accounts, decision 0033)."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.sources.mqtt.security import TEST_ACCOUNT, device_password
from ioc.settings import settings_for_tests
from ioc.tooling.mqtt_accounts import accounts, acl_text, write
from ioc.wiring.connectors import device_login, mqtt_login
from schemas.province.loading import load_profile

pytestmark = pytest.mark.unit


def test_each_device_may_publish_its_own_topic_only_and_the_bridge_only_reads() -> None:
    settings = settings_for_tests()
    profile = load_profile(settings.province_profile)
    found = {a.name: a for a in accounts(settings)}
    assert len(found) == 2 + len(profile.sensors) + len(profile.meters)
    sensor, meter = profile.sensors[0].sensor_id, profile.meters[0].meter_id
    assert found[sensor].grants == (
        ("write", f"city/traffic/{sensor}/obs"),
        ("write", f"it/+/city/traffic/{sensor}/obs"),
    )
    assert found[meter].grants == (
        ("write", f"city/energy/{meter}/reading"),
        ("write", f"it/+/city/energy/{meter}/reading"),
    )
    bridge = found[settings.mqtt_username]
    assert {access for access, _t in bridge.grants} == {"read"}
    assert ("read", "city/traffic/+/obs") in bridge.grants
    assert bridge.password == settings.mqtt_password.get_secret_value()
    assert found[TEST_ACCOUNT].grants == (("readwrite", "it/#"), ("readwrite", "ioc/health/#"))
    assert f"user {sensor}\ntopic write city/traffic/{sensor}/obs\n" in acl_text(
        list(found.values())
    )


def test_device_passwords_derive_from_the_secret_and_the_id(tmp_path: Path) -> None:
    settings = settings_for_tests(mqtt_device_secret="s" * 20)
    sensor = load_profile(settings.province_profile).sensors[0].sensor_id
    password = device_password("s" * 20, sensor)
    assert password != device_password("t" * 20, sensor)
    assert password != device_password("s" * 20, sensor + "x")
    assert device_login(settings, sensor).password == password
    write(tmp_path, settings)
    assert f"{sensor}:{password}\n" in (tmp_path / "passwords").read_text()
    assert (tmp_path / "passwords").stat().st_mode & 0o077 == 0


def test_an_id_that_would_change_a_topic_is_refused() -> None:
    with pytest.raises(ValueError, match="only letters"):
        accounts(settings_for_tests(mqtt_username="bridge/#"))


def test_tls_uses_the_local_ca_when_present_a_named_file_or_none(tmp_path: Path) -> None:
    assert mqtt_login(settings_for_tests(data_dir=tmp_path)).ca_file is None  # system CAs
    assert mqtt_login(settings_for_tests(data_dir=tmp_path)).tls
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.pem").write_text("x")
    login = mqtt_login(settings_for_tests(data_dir=tmp_path))
    assert login.ca_file == str(tmp_path / "pki" / "ca.pem")
    assert login.username == "ioc-bridge"
    assert "ioc-bridge-local" not in repr(login)
    assert mqtt_login(settings_for_tests(mqtt_tls_ca_file="/etc/ca.pem")).ca_file == "/etc/ca.pem"
    assert not mqtt_login(settings_for_tests(mqtt_tls_ca_file="none")).tls
