"""The catalog importer: CSV/JSON on fsspec URLs and a catalog database, idempotent."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, create_engine

from jupyter_astro_ops.core.errors import Forbidden
from jupyter_astro_ops.ocat.providers import SqlCatalog
from jupyter_astro_ops.ocat.synthetic import write_catalog


@pytest.mark.parametrize("suffix", ["json", "csv"])
def test_file_import_is_idempotent(ocat: Any, who: Any, synthetic: Any, suffix: str) -> None:
    url = write_catalog(synthetic, f"memory://ocat-test/catalog-{suffix}.{suffix}")
    first = ocat.importer.import_catalog(who["root"], url)
    assert len(first.added) == 60 and first.invalid == []
    again = ocat.importer.import_catalog(who["root"], url)
    assert again.catalog_unchanged and again.added == again.updated == []
    synthetic[3]["status"] = "canceled"
    synthetic[4]["roll_obsr"] = 11.5
    write_catalog(synthetic, url)
    changed = ocat.importer.import_catalog(who["root"], url)
    assert changed.updated == [synthetic[3]["obsid"], synthetic[4]["obsid"]]
    assert changed.unchanged == 58
    obs = ocat.service.observation(who["root"], synthetic[4]["obsid"])
    assert obs.roll == 11.5 and obs.values["roll_obsr"] == 11.5


def test_bad_records_are_reported(ocat: Any, who: Any) -> None:
    records = [{"obsid": "x"}, {"obsid": 5, "status": "lost"}, {"obsid": 6, "ra": "north"},
               {"obsid": 7, "target_name": "ok"}]
    summary = ocat.importer.apply(who["root"], "inline", records)
    assert summary.added == [7] and len(summary.invalid) == 3


def test_only_admins_import(ocat: Any, who: Any) -> None:
    with pytest.raises(Forbidden):
        ocat.importer.import_catalog(who["pocone"], "memory://nothing.json")


def test_sql_catalog_provider(tmp_path: Any, ocat: Any, who: Any) -> None:
    url = f"sqlite:///{tmp_path}/catalog.db"
    engine = create_engine(url)
    meta = MetaData()
    table = Table("observations", meta, Column("obsid", Integer, primary_key=True),
                  Column("target_name", String), Column("instrument", String),
                  Column("status", String), Column("ra", Float), Column("dec", Float),
                  Column("si_mode", String))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [
            {"obsid": 3001, "target_name": "Cas A", "instrument": "ACIS-S",
             "status": "scheduled", "ra": 350.85, "dec": 58.81, "si_mode": "TE_00A2"},
            {"obsid": 3002, "target_name": "Vela", "instrument": "HRC-I", "status": "observed",
             "ra": 128.8, "dec": -45.2, "si_mode": None}])
    engine.dispose()
    ocat.importer.provider = SqlCatalog(parent=ocat.importer)
    summary = ocat.importer.import_catalog(who["root"], url)
    assert summary.added == [3001, 3002]
    obs = ocat.service.observation(who["root"], 3001)
    assert (obs.target_name, obs.status, obs.values["si_mode"]) == ("Cas A", "scheduled",
                                                                     "TE_00A2")


def test_provider_class_from_config(db: Any, tmp_path: Any) -> None:
    from ..ocat.conftest import ocat_services

    services = ocat_services(db, {"OcatImporter": {
        "provider_class": "jupyter_astro_ops.ocat.providers.SqlCatalog"},
        "SqlCatalog": {"table": "targets"}})
    provider = services.ocat.importer.provider
    assert isinstance(provider, SqlCatalog) and provider.table == "targets"


def test_cli_import(tmp_path: Any, synthetic: Any) -> None:
    import subprocess
    import sys

    from jupyter_astro_ops.core import migrate

    url = f"sqlite:///{tmp_path}/cli.db"
    migrate.upgrade(url)
    source = write_catalog(synthetic, (tmp_path / "catalog.csv").as_uri())
    cmd = [sys.executable, "-m", "jupyter_astro_ops.cli.main", "ocat", "import",
           f"--db-url={url}", f"--source={source}"]
    env = {"JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "PATH": "/usr/bin:/bin"}
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert first.returncode == 0, first.stderr
    assert "60 added, 0 updated, 0 unchanged, 0 invalid" in first.stdout
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert "unchanged since the last import (60 observations)" in again.stdout
