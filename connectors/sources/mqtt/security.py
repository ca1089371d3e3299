"""How every MQTT client of the project reaches the secured broker (decision 0033).

The broker refuses anonymous and plain-TCP clients: each client logs in with its own
account over TLS. Devices of the local stack and of the tests get passwords derived from
one local-only secret (:func:`device_password`), so the broker's password file, the demo
and the tests agree without sharing a file; production issues each device a real secret.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

TEST_ACCOUNT = "ioc-test"
"""Local stack only: the ready check and the tests' free-form publisher (``it/#``)."""


def device_password(secret: str, username: str) -> str:
    """The local password of one account: HMAC-SHA256 of its name under the device secret."""
    return hmac.new(secret.encode(), username.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class MqttLogin:
    """Who a client is and how it reaches the broker; ``tls`` off means plain MQTT."""

    username: str = ""
    password: str = field(default="", repr=False)
    tls: bool = True
    ca_file: str | None = None
    """PEM bundle the broker's certificate must chain to; None = the system's CAs."""

    def apply(self, client: mqtt.Client) -> None:
        """Set credentials and TLS on a client before it connects."""
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set(ca_certs=self.ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)

    def as_user(self, username: str, password: str) -> MqttLogin:
        """The same transport, another account."""
        return MqttLogin(username, password, self.tls, self.ca_file)


def make_client(
    login: MqttLogin,
    client_id: str,
    *,
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311,
    clean_session: bool | None = None,
    manual_ack: bool = False,
) -> mqtt.Client:
    """A paho client (callback API 2) with this login applied, not yet connected."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
        clean_session=clean_session,
        manual_ack=manual_ack,
    )
    login.apply(client)
    return client
