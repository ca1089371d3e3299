"""MQTT v5 clients that report what the broker answered: CONNACK, PUBACK and SUBACK codes."""

from __future__ import annotations

import threading
import time
from typing import Any

import paho.mqtt.client as mqtt

from connectors.sources.mqtt.security import MqttLogin, make_client
from ioc.settings import Settings

NOT_AUTHORIZED = 0x87
"""MQTT v5 reason code "Not authorized" (CONNACK, PUBACK, SUBACK)."""
BAD_CREDENTIALS = 0x86
"""MQTT v5 CONNACK "Bad user name or password"."""


class Probe:
    """One MQTT v5 connection that records the broker's answers."""

    def __init__(self, settings: Settings, login: MqttLogin, client_id: str) -> None:
        self.settings = settings
        self.client = make_client(login, client_id, protocol=mqtt.MQTTv5)
        self.client.reconnect_delay_set(30, 60)  # a refused login is not retried meanwhile
        self.connack: Any = None
        self.answered = threading.Event()
        self.gone = threading.Event()
        self.pubacks: dict[int, Any] = {}
        self.subacks: dict[int, list[Any]] = {}
        self.messages: list[tuple[str, bytes]] = []
        self._cond = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.connack = rc
        self.answered.set()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, _rc: Any, _p: Any) -> None:
        self.gone.set()

    def _on_publish(self, _c: Any, _u: Any, mid: int, rc: Any, _p: Any) -> None:
        with self._cond:
            self.pubacks[mid] = rc
            self._cond.notify_all()

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, codes: list[Any], _p: Any) -> None:
        with self._cond:
            self.subacks[mid] = codes
            self._cond.notify_all()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append((message.topic, bytes(message.payload)))
            self._cond.notify_all()

    def open(self, timeout_s: float = 10) -> Any:
        """Connect; the CONNACK's reason code, or None when none came (the link failed)."""
        self.client.connect("127.0.0.1", self.settings.mosquitto_port, keepalive=30)
        self.client.loop_start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self.gone.is_set():
            if self.answered.wait(0.05):
                break
        return self.connack

    def publish(self, topic: str, payload: bytes = b"{}") -> int:
        """Publish at QoS 1; the PUBACK's reason code as a number."""
        info = self.client.publish(topic, payload, qos=1)
        with self._cond:
            assert self._cond.wait_for(lambda: info.mid in self.pubacks, 10), f"no PUBACK: {topic}"
            return int(self.pubacks[info.mid].value)

    def subscribe(self, *topics: str) -> list[int]:
        """Subscribe at QoS 1; the SUBACK's reason code per topic."""
        _rc, mid = self.client.subscribe([(t, 1) for t in topics])
        with self._cond:
            assert self._cond.wait_for(lambda: mid in self.subacks, 10), "no SUBACK"
            return [int(c.value) for c in self.subacks[mid]]

    def wait_for(self, payload: bytes, timeout_s: float = 10) -> list[tuple[str, bytes]]:
        """Every message received up to and including the one with this payload."""
        with self._cond:
            found = self._cond.wait_for(
                lambda: any(p == payload for _t, p in self.messages), timeout_s
            )
            assert found, f"{payload!r} was not delivered; got {self.messages}"
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
