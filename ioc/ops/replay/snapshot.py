"""The open-dossier snapshot a rebuild starts from, taken from the live worker's changelog.

A dossier's KPIs depend on its whole status history (open at a period's end? overdue?),
and a dossier may have been received long before the rebuild's first offset — even
before the topic's retention. The live worker's state holds every dossier it still
needs, with the source offset of each change. Keeping only the changes *below* the
rebuild's start offset gives exactly the dossier records the live worker had at that
offset; the rebuild then applies the rest from the topic, as the live worker did.

The changelog format is the worker's (``streams.runtime.partition``): key ``"<partition>|<key>"``
and value as JSON, both orjson-encoded; a None value is a deletion.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from kafka.admin import KafkaAdminClient

from ioc.ops.replay import kafka_io
from ioc.settings import Settings
from streams.kpi.dossier import DOSSIER_PREFIX
from streams.records import DossierRecord
from streams.runtime.app import TABLE_SUFFIX

OFFSET_COLUMN = 8
"""Index of the source offset in a stored change row (``dossier_facts.Change.to_row``)."""


def changelog_topic(app_id: str, domain: str = "dossier") -> str:
    """``<app id>-<domain>-state-changelog``, as faust names a table's changelog."""
    return f"{app_id}-{domain}{TABLE_SUFFIX}-changelog"


def as_of(record: DossierRecord, start_offset: int) -> DossierRecord | None:
    """The dossier record as it was before ``start_offset`` (None: not yet known then)."""
    kept = [row for row in record.get("ev", []) if int(row[OFFSET_COLUMN]) < start_offset]
    if not kept:
        return None
    return {**record, "ev": kept, "o": max(int(row[OFFSET_COLUMN]) for row in kept)}


def dossier_seeds(
    admin: KafkaAdminClient,
    settings: Settings,
    live_app_id: str,
    starts: Mapping[int, int],
) -> tuple[dict[int, list[tuple[str, DossierRecord]]], int]:
    """Seed records per source partition, and how many dossiers they hold.

    An absent changelog (no live worker ran under that id) gives no seeds: the rebuild
    then knows only the dossiers whose changes it reads, and says so in its summary.
    """
    topic = changelog_topic(live_app_id)
    if topic not in set(admin.list_topics()):
        return {}, 0
    parts = kafka_io.partitions_of(admin, topic)
    first = kafka_io.earliest(admin, topic, parts)
    end = kafka_io.latest(admin, topic, parts)
    latest_values: dict[str, DossierRecord | None] = {}
    kafka = kafka_io.consumer(settings, "ioc-replay-snapshot")
    try:
        spans = {p: kafka_io.Span(p, first[p], end[p]) for p in parts}
        for batch in kafka_io.read(kafka, topic, spans):
            for message in batch:
                if message.key is None:
                    continue
                key = str(orjson.loads(message.key))
                if not key.partition("|")[2].startswith(DOSSIER_PREFIX):
                    continue  # only dossier records are seeds (and only they are kept)
                latest_values[key] = None if message.value is None else orjson.loads(message.value)
    finally:
        kafka.close()
    seeds: dict[int, list[tuple[str, DossierRecord]]] = {}
    count = 0
    for full, value in latest_values.items():
        partition_text, _, key = full.partition("|")
        if value is None or not key.startswith(DOSSIER_PREFIX) or not partition_text.isdigit():
            continue
        partition = int(partition_text)
        if partition not in starts:
            continue
        record = as_of(value, starts[partition])
        if record is not None:
            seeds.setdefault(partition, []).append((key, record))
            count += 1
    return seeds, count
