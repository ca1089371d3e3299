"""Pure parts of the migrator: feature detection and templating."""

from __future__ import annotations

import pytest

from ioc.errors import MigrationError
from ioc.ops.db.migrate import ServerFeatures, load, render

pytestmark = pytest.mark.unit

OLD = ServerFeatures.from_version("18.16.1")
NEW = ServerFeatures.from_version("26.9.2.1")


def test_feature_detection_by_version() -> None:
    assert (OLD.ttl, OLD.codec, OLD.low_cardinality, OLD.datetime64) == (False, False, False, False)
    assert (NEW.ttl, NEW.codec, NEW.low_cardinality, NEW.datetime64) == (True, True, True, True)
    with pytest.raises(MigrationError):
        ServerFeatures.from_version("unknown")


def test_optional_clauses_and_low_cardinality() -> None:
    text = "-- c;\nCREATE TABLE {db}.t (a LC(String)) ENGINE = MergeTree ORDER BY a [[ttl: TTL x + 1]];"
    assert render(text, OLD, {"db": "d"}) == [
        "CREATE TABLE d.t (a String) ENGINE = MergeTree ORDER BY a"
    ]
    assert render(text, NEW, {"db": "d"}) == [
        "CREATE TABLE d.t (a LowCardinality(String)) ENGINE = MergeTree ORDER BY a TTL x + 1"
    ]


def test_unknown_feature_is_refused() -> None:
    with pytest.raises(MigrationError, match="unknown migration feature"):
        render("[[magic: X]]", NEW, {})


def test_shipped_migrations_are_numbered_and_render_everywhere() -> None:
    migrations = load()
    assert [m.number for m in migrations] == list(range(1, len(migrations) + 1))
    for features in (OLD, NEW):
        for migration in migrations:
            statements = render(migration.text, features, {"db": "ioc", "raw_retention_days": 90})
            assert statements, migration.name
            assert all("{" not in s and "[[" not in s for s in statements)
            if not features.ttl:
                assert all("TTL" not in s for s in statements)
