"""Where the observation catalog comes from: a provider class chosen by ``c.OcatImporter``.

A provider reads raw records (one ``dict`` per observation) from a source:

* ``FileCatalog`` (the default): CSV or JSON on any fsspec URL (``file://``, ``s3://``,
  ``memory://``, ``https://``...). JSON is a list of records or ``{"observations": [...]}``;
  CSV has one column per field and parameter (empty cell: no value);
* ``SqlCatalog``: a table of a catalog database, by SQLAlchemy URL (``source``) and table name
  (``c.SqlCatalog.table``); the table is reflected and read with ``SELECT *``, so nothing from
  the data is ever spliced into SQL.

Choose with ``c.OcatImporter.provider_class = "jupyter_astro_ops.ocat.providers.SqlCatalog"``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

import fsspec
from sqlalchemy import MetaData, Table, create_engine, select
from sqlalchemy.exc import SQLAlchemyError
from traitlets import Unicode
from traitlets.config import LoggingConfigurable

from ..core.errors import NotFound, ValidationError


class CatalogProvider(LoggingConfigurable):
    """Base of every provider: ``read(source, storage_options)`` -> raw records."""

    def read(self, source: str, storage_options: Mapping[str, Any] | None = None
             ) -> list[dict[str, Any]]:
        raise NotImplementedError


class FileCatalog(CatalogProvider):
    """CSV or JSON on an fsspec URL."""

    def read(self, source: str, storage_options: Mapping[str, Any] | None = None
             ) -> list[dict[str, Any]]:
        try:
            with fsspec.open(source, "rb", **dict(storage_options or {})) as handle:
                raw: bytes = handle.read()
        except FileNotFoundError as exc:
            raise NotFound(f"no catalog at {source}") from exc
        except (ValueError, ImportError) as exc:
            raise ValidationError(f"cannot read {source}: {exc}") from exc
        text = raw.decode("utf-8-sig")
        if source.lower().endswith(".csv") or not text.lstrip().startswith(("[", "{")):
            return [{k: v for k, v in row.items() if k and v not in (None, "")}
                    for row in csv.DictReader(io.StringIO(text))]
        data = json.loads(text)
        items = data.get("observations") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ValidationError("a JSON catalog is a list or {'observations': [...]}")
        return [dict(item) for item in items if isinstance(item, dict)]


class SqlCatalog(CatalogProvider):
    """One table of a catalog database (SQLAlchemy URL)."""

    table = Unicode("observations", config=True,
                    help="Table of the catalog database that holds one row per observation.")
    schema = Unicode("", config=True, help="Schema of that table (empty: the default).")

    def read(self, source: str, storage_options: Mapping[str, Any] | None = None
             ) -> list[dict[str, Any]]:
        engine = create_engine(source)
        try:
            table = Table(self.table, MetaData(), schema=self.schema or None,
                          autoload_with=engine)
            with engine.connect() as conn:
                return [{k: v for k, v in row._mapping.items() if v is not None}
                        for row in conn.execute(select(table))]
        except SQLAlchemyError as exc:
            raise ValidationError(f"cannot read table {self.table!r} of the catalog "
                                  f"database: {exc}") from exc
        finally:
            engine.dispose()


__all__ = ["CatalogProvider", "FileCatalog", "SqlCatalog"]
