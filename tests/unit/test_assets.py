"""ioc.assets: deploy files from a checkout, or from the package of an installed wheel."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ioc import assets
from ioc.ops.db.migrate import load
from ioc.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.unit


@pytest.fixture
def fresh_lookup() -> object:
    assets.deploy_dir.cache_clear()
    yield
    assets.deploy_dir.cache_clear()


@pytest.mark.usefixtures("fresh_lookup")
def test_a_checkout_reads_deploy() -> None:
    assert assets.deploy_dir() == PROJECT_ROOT / "deploy"
    assert not assets.is_packaged()
    assert assets.migrations_dir() == PROJECT_ROOT / "deploy" / "clickhouse" / "migrations"
    assert (assets.postgres_dir() / "0001_dossier_outbox.sql").is_file()
    assert (assets.prometheus_dir() / "rules" / "pipeline.yml").is_file()
    assert (assets.alertmanager_dir() / "alertmanager.yml").is_file()
    assert (assets.grafana_dir() / "provisioning" / "datasources" / "ioc.yaml").is_file()
    assert Settings().data_dir == PROJECT_ROOT / ".cache"


@pytest.mark.usefixtures("fresh_lookup")
def test_an_installed_package_reads_its_own_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "ioc"
    shutil.copytree(PROJECT_ROOT / "deploy" / "clickhouse", package / "_deploy" / "clickhouse")
    monkeypatch.setattr(assets.resources, "files", lambda name: package)
    assert assets.deploy_dir() == package / "_deploy"
    assert assets.is_packaged()
    assert [m.number for m in load()] == [m.number for m in load(assets.migrations_dir())]
    assert assets.migrations_dir().is_relative_to(tmp_path)


@pytest.mark.usefixtures("fresh_lookup")
def test_neither_a_package_copy_nor_a_checkout_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assets.resources, "files", lambda name: tmp_path / "ioc")
    monkeypatch.setattr(assets, "CHECKOUT_ROOT", tmp_path)
    with pytest.raises(assets.AssetsNotFoundError, match="no deploy files"):
        assets.deploy_dir()
    assert assets.default_data_dir() == Path.home() / ".local" / "share" / "ioc"


def test_setup_copies_every_asset_the_code_reads() -> None:
    # setup.py's ASSETS globs (what the wheel carries) cover each directory ioc.assets serves.
    namespace: dict[str, object] = {}
    text = (PROJECT_ROOT / "setup.py").read_text(encoding="utf-8")
    start = text.index("ASSETS = (")
    exec(text[start : text.index(")\n", start) + 2], namespace)
    globs = namespace["ASSETS"]
    assert isinstance(globs, tuple)
    deploy = PROJECT_ROOT / "deploy"
    covered = {p for g in globs for p in deploy.glob(g)}
    for directory in ("clickhouse/migrations", "postgres", "grafana", "alertmanager"):
        wanted = {p for p in (deploy / directory).rglob("*") if p.is_file()}
        assert wanted <= covered, sorted(str(p) for p in wanted - covered)
    rules = {p for p in (deploy / "prometheus").rglob("*.yml") if "tests" not in p.parts}
    assert rules <= covered
