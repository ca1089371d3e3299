"""`ioc connector http add-key | list-keys | revoke-key`: the operator's side of the keys file."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from connectors.sources.http.keys import KeyStore, hash_key
from ioc.cli import app

pytestmark = pytest.mark.unit

RUNNER = CliRunner()


def _http(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(app, ["connector", "http", *args])
    return result.exit_code, result.output


def test_add_list_and_revoke_keys(tmp_path: Path) -> None:
    path = str(tmp_path / "keys.json")
    code, out = _http(
        "add-key", "--source", "gate-1", "--streams", "qr", "--keys-file", path,
        "--expires", "2027-06-30T00:00:00+07:00", "--rate", "5", "--burst", "10",
    )  # fmt: skip
    assert code == 0, out
    first = out.strip().splitlines()[-1]
    code, out = _http("add-key", "--source", "gate-2", "--keys-file", path)
    assert code == 0, out
    second = out.strip().splitlines()[-1]
    entry = orjson.loads(Path(path).read_bytes())["keys"][0]
    assert entry["expires"] == "2027-06-30T00:00:00+07:00"
    assert (entry["rate"], entry["burst"]) == (5.0, 10)

    code, out = _http("list-keys", "--keys-file", path)
    assert code == 0, out
    assert hash_key(first)[:12] in out
    assert "2027-06-30T00:00:00+07:00" in out
    assert "never" in out
    assert first not in out
    assert second not in out
    assert hash_key(first) not in out  # a prefix, not the whole hash

    code, out = _http("revoke-key", "--sha256-prefix", hash_key(second)[:10], "--keys-file", path)
    assert code == 0, out
    assert f"revoked gate-2 {hash_key(second)[:12]}" in out
    code, out = _http("revoke-key", "--source", "gate-1", "--keys-file", path)
    assert code == 0, out
    assert "revoked gate-1" in out
    assert len(KeyStore.load(Path(path))) == 0


def test_operator_mistakes_are_refused_and_change_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "keys.json")
    assert _http("add-key", "--source", "gate-1", "--keys-file", path)[0] == 0
    for args in (
        ["add-key", "--source", "g", "--expires", "2027-06-30T00:00:00"],  # naive
        ["add-key", "--source", "g", "--expires", "next week"],
        ["add-key", "--source", "g", "--expires", "2020-01-01T00:00:00Z"],  # past
        ["add-key", "--source", "g", "--rate", "0"],
        ["add-key", "--source", "g", "--streams", "weather"],
        ["revoke-key", "--sha256-prefix", "abc"],
        ["revoke-key", "--source", "nobody"],
        ["revoke-key"],
    ):
        code, out = _http(*args, "--keys-file", path)
        assert code != 0, (args, out)
    assert [k.source for k in KeyStore.load(Path(path))] == ["gate-1"]
