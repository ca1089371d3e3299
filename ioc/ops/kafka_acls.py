"""Which principal may do what on Kafka: the ACL table, and applying it (``ioc topics acls``).

Decision 0039. Every grant is on a *prefix*, so it covers a topic's test and demo copies
(the registry name + a suffix) and its replay copies (``<topic>.replay.<n>``), and a
group or internal topic named after the component (``ioc-worker…``, ``ioc-sink…``).
The brokers deny whatever is not granted (``allow.everyone.if.no.acl.found=false``);
``ioc-admin`` (operators: topics, replay, the tests' own reads) and the brokers' own
users are super users, set in the broker configuration rather than here.

What each component may do, in the issue's words "only its job":

- a connector writes its own source topics and the dead-letter topic, and may create
  them (``--create-topics``); it reads nothing, except the outbox poller, which reads
  back its own topic's tail to resume;
- the worker reads the source topics, writes the result topics, and writes one more
  thing into the source topics: the control ticks that move an idle partition's
  watermark (streams/runtime/app.py); it owns the topics and group of its app id;
- the sink reads every registry topic in its own group and writes nothing;
- the alerter reads the anomalies topic, without a group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    KafkaAdminClient,
    ResourcePattern,
    ResourceType,
)

from ioc.errors import KafkaAclError
from ioc.kafka_client import principal_name
from schemas.topics import (
    ANOMALIES,
    DEADLETTER,
    DOSSIER_STATUS,
    DQ,
    ENERGY_READINGS,
    KPI,
    QR_SCANS,
    TRAFFIC_OBS,
)

SOURCES = (QR_SCANS, TRAFFIC_OBS, ENERGY_READINGS, DOSSIER_STATUS)
RESULTS = (KPI, ANOMALIES, DQ, DEADLETTER)

WRITE = ("WRITE", "DESCRIBE", "CREATE", "DESCRIBE_CONFIGS")
READ = ("READ", "DESCRIBE", "DESCRIBE_CONFIGS")
ALL = ("ALL",)

CONNECTOR_STREAMS: Mapping[str, tuple[str, ...]] = {
    "gateway": SOURCES,  # POST /v1/events/<stream> for any stream
    "file": SOURCES,
    "simulator": SOURCES,  # plays the devices straight into Kafka (make demo, tests)
    "bridge": (TRAFFIC_OBS, ENERGY_READINGS),  # the MQTT devices
    "outbox": (DOSSIER_STATUS,),
}


@dataclass(frozen=True, slots=True, order=True)
class Grant:
    """Allow ``principal`` the ``operations`` on resources whose name starts with ``prefix``."""

    principal: str
    resource: str  # TOPIC | GROUP
    prefix: str
    operations: tuple[str, ...]


def _topics(user: str, names: Iterable[str], operations: tuple[str, ...]) -> list[Grant]:
    return [Grant(user, "TOPIC", name, operations) for name in names]


def grants() -> list[Grant]:
    """The whole table, sorted (what ``ioc topics acls --dry-run`` prints)."""
    table: list[Grant] = []
    for component, streams in CONNECTOR_STREAMS.items():
        user = principal_name(component)
        table += _topics(user, (*streams, DEADLETTER), WRITE)
    table += _topics(principal_name("outbox"), (DOSSIER_STATUS,), ("READ",))
    worker = principal_name("worker")
    # WRITE: the control ticks; CREATE: a worker declares its sources (faust) when missing.
    table += _topics(worker, SOURCES, (*READ, "WRITE", "CREATE"))
    table += _topics(worker, RESULTS, (*WRITE, "READ"))
    table += [Grant(worker, "TOPIC", worker, ALL), Grant(worker, "GROUP", worker, ALL)]
    sink = principal_name("sink")
    table += _topics(sink, (*SOURCES, *RESULTS), READ)
    table.append(Grant(sink, "GROUP", sink, ("READ", "DESCRIBE")))
    table += _topics(principal_name("alerter"), (ANOMALIES,), READ)
    return sorted(table)


def _acls(grant: Grant) -> list[ACL]:
    pattern = ResourcePattern(
        ResourceType[grant.resource], grant.prefix, ACLResourcePatternType.PREFIXED
    )
    return [
        ACL(f"User:{grant.principal}", "*", ACLOperation[op], ACLPermissionType.ALLOW, pattern)
        for op in grant.operations
    ]


def apply_grants(admin: KafkaAdminClient, table: Iterable[Grant]) -> int:
    """Create every ACL of ``table`` (creating an existing one changes nothing); their count."""
    acls = [acl for grant in table for acl in _acls(grant)]
    result = admin.create_acls(acls)
    failed = result.get("failed") or []
    if failed:
        acl, error = failed[0]
        raise KafkaAclError(f"Kafka refused {len(failed)} ACLs, e.g. {acl}: {error}")
    return len(acls)
