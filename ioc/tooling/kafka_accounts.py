"""The local stack's Kafka users, for deploy/local/kafka.sh (decision 0039).

``python -m ioc.tooling.kafka_accounts`` prints bash assignments that kafka.sh evaluates:

- ``KAFKA_SCRAM_ARGS``: ``--add-scram`` arguments of ``kafka-storage format``, one SCRAM
  user per component (``ioc-gateway`` … ``ioc-admin``) and the brokers' own. KRaft keeps
  SCRAM credentials in its metadata log, so the first format creates them all: nothing
  has to log in before the users exist;
- ``KAFKA_SUPER_USERS``: the brokers', the controllers' and ``ioc-admin`` (operators and
  the tests' own reads and writes); every other principal gets only its ACLs
  (``ioc topics acls``, run by kafka.sh once the cluster answers);
- the passwords kafka.sh writes into the brokers' JAAS settings and hands to kcat.

Every password is the local stack's (:func:`ioc.kafka_client.local_password`): this is a
127.0.0.1 stack, and a production start refuses those passwords.
"""

from __future__ import annotations

import shlex
import sys

from ioc.kafka_client import (
    BROKER_USER,
    COMPONENTS,
    CONTROLLER_USER,
    kafka_client_options,
    local_password,
    principal_name,
)
from ioc.settings import Settings

ADMIN_USER = principal_name("admin")


def shell_assignments(settings: Settings) -> str:
    """The bash lines kafka.sh evaluates."""
    mechanism = settings.kafka_sasl_mechanism
    if not mechanism.startswith("SCRAM-"):
        raise SystemExit(f"the local stack's brokers use SCRAM, not {mechanism}")
    users = [*(principal_name(c) for c in COMPONENTS), BROKER_USER]
    scram: list[str] = []
    for user in users:
        scram += ["--add-scram", f"{mechanism}=[name={user},password={local_password(user)}]"]
    supers = ";".join(f"User:{u}" for u in (BROKER_USER, CONTROLLER_USER, ADMIN_USER))
    lines = {
        "KAFKA_SCRAM_MECHANISM": mechanism,
        "KAFKA_SUPER_USERS": supers,
        "KAFKA_BROKER_USER": BROKER_USER,
        "KAFKA_BROKER_PASSWORD": local_password(BROKER_USER),
        "KAFKA_CONTROLLER_USER": CONTROLLER_USER,
        "KAFKA_CONTROLLER_PASSWORD": local_password(CONTROLLER_USER),
        "KAFKA_ADMIN_USER": ADMIN_USER,
        "KAFKA_ADMIN_PASSWORD": local_password(ADMIN_USER),
    }
    text = [f"{name}={shlex.quote(value)}" for name, value in lines.items()]
    text.append("KAFKA_SCRAM_ARGS=(" + " ".join(shlex.quote(a) for a in scram) + ")")
    return "\n".join(text)


def node_ready(settings: Settings, port: int, brokers: int) -> bool:
    """Whether the node on ``port`` answers a metadata request listing ``brokers`` brokers.

    kcat cannot be the probe: Debian's librdkafka (2.0) fails SCRAM against Kafka 4
    (edenhill/kcat#462; fixed in librdkafka 2.6.1).
    """
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    options = kafka_client_options(settings) | {"bootstrap_servers": f"127.0.0.1:{port}"}
    try:
        admin = KafkaAdminClient(**options, request_timeout_ms=5_000)
    except KafkaError:
        return False
    try:
        return len(admin.describe_cluster()["brokers"]) >= brokers
    except KafkaError:
        return False
    finally:
        admin.close()


def main(argv: list[str]) -> int:
    """``(no argument)``: print the assignments; ``ready PORT BROKERS``: exit 0 when ready."""
    settings = Settings()
    if argv[1:2] == ["ready"] and len(argv) == 4:
        return 0 if node_ready(settings, int(argv[2]), int(argv[3])) else 1
    if len(argv) == 1:
        sys.stdout.write(shell_assignments(settings) + "\n")
        return 0
    sys.stderr.write("usage: python -m ioc.tooling.kafka_accounts [ready PORT BROKERS]\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
