"""Everything the demo needs before its processes start; each step is idempotent.

The same steps a deployment runs (``ioc db migrate``, ``ioc topics create``, ``ioc db
load-entities``, ``ioc connector outbox init-db``, an HTTP API key), called directly.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from connectors.sources.http.keys import add_key
from ioc.ops.db.executors import ClickHouseExecutor
from ioc.ops.db.maintenance import load_entities
from ioc.ops.db.migrate import migrate
from ioc.ops.kafka_admin import admin_client, ensure_topics
from ioc.settings import Settings
from ioc.tooling.demo.supervisor import DemoError, port_open
from ioc.wiring.connectors import prepare_outbox_db
from schemas.province.loading import load_profile
from schemas.topics import registry

QR_APP_SOURCE = "qr-app"
"""The HTTP gateway stamps QR scans with the source of the key that sent them."""


def require_stack(settings: Settings) -> None:
    """The local services answer; else say how to start them (make demo does it)."""
    services = {
        "Kafka": settings.kafka_port,
        "ClickHouse": settings.clickhouse_port,
        "Mosquitto": settings.mosquitto_port,
        "PostgreSQL": settings.postgres_port,
        "Alertmanager": settings.alertmanager_port,
    }
    down = [f"{name} (:{port})" for name, port in services.items() if not port_open(port)]
    if down:
        raise DemoError(f"not answering: {', '.join(down)}; start the local stack with `make up`")


def prepare(settings: Settings, work: Path) -> dict[str, str]:
    """Schema, topics, profile, outbox tables and an API key; returns what was done."""
    done: dict[str, str] = {}
    executor = ClickHouseExecutor.from_settings(settings)
    try:
        newly = migrate(
            executor,
            settings.clickhouse_database,
            raw_retention_days=settings.raw_retention_days,
            cluster=settings.clickhouse_cluster,
        )
        done["migrations"] = f"{len(newly)} applied" if newly else "up to date"
        report = load_entities(
            executor,
            settings.clickhouse_database,
            load_profile(settings.province_profile),
            cluster=settings.clickhouse_cluster,
        )
        done["profile"] = f"{settings.province_profile}: {report.entities} entities"
    finally:
        executor.close()
    suffix = settings.stream_topic_suffix
    admin = admin_client(settings)
    try:
        specs = [
            dataclasses.replace(s, name=s.name + suffix)
            for s in registry(settings.replay_horizon_days)
        ]
        results = ensure_topics(
            admin,
            specs,
            profile=settings.partition_profile,
            replication_factor=settings.replication_factor,
        )
        created = sum(r.action == "created" for r in results)
        done["topics"] = f"{created} created, {len(results) - created} present"
    finally:
        admin.close()
    prepare_outbox_db(settings)
    done["outbox"] = f"schema {settings.outbox_schema} ready"
    keys = work / "http-api-keys.json"
    keys.unlink(missing_ok=True)  # one fresh key per demo start, nothing left lying around
    raw = add_key(keys, QR_APP_SOURCE, ["qr"])
    key_file = work / "qr-app.key"
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(raw)
    done["http key"] = f"source {QR_APP_SOURCE}, streams qr"
    return done
