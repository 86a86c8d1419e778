"""Loading observations from the catalog, idempotently (``c.OcatImporter.*``).

The provider (``provider_class``, a Type trait: CSV/JSON on an fsspec URL by default, or a
catalog database) yields raw records; each becomes the observation's fields (obsid, sequence,
target, instrument, grating, type, status, POC, planned date, RA/Dec/roll, OR list) and its
parameter values, typed by the catalog. A digest of the whole catalog is tracked per source,
so re-importing the same catalog reads but writes nothing; within a changed catalog only the
observations whose own digest changed are written, through the one write path
(``writes.OcatWriter``), each with an activity event. Bad records are reported, not fatal.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from traitlets import Bool, Dict, Float, Type, Unicode
from traitlets.config import LoggingConfigurable

from ..activity.protocols import EventRecorder
from ..core.db import Database, serialize
from ..core.errors import AstroOpsError, Forbidden, ValidationError
from ..core.identity import ADMIN, User
from ..core.lifecycle import BackgroundLoop
from ..core.timeutil import isoformat, parse_instant, utcnow
from .catalog import Catalog
from .models import OcatImport
from .providers import CatalogProvider, FileCatalog
from .schemas import OcatImportSummary
from .writes import OcatWriter

IMPORT = "OCAT_IMPORT"
STATUSES = ("scheduled", "unobserved", "untriggered", "observed", "archived", "canceled",
            "discarded")
Clock = Callable[[], datetime]


def _text(record: Mapping[str, Any], *names: str, default: str = "") -> str:
    for name in names:
        value = record.get(name)
        if value not in (None, ""):
            return str(value).strip()
    return default


def observation_fields(record: Mapping[str, Any], catalog: Catalog
                       ) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(fields, values)`` of one raw record; raises ``ValueError`` on a bad record."""
    obsid = int(str(record["obsid"]).strip())
    if not 1 <= obsid <= 9_999_999:
        raise ValueError("obsid out of range")
    values = {}
    for name, param in catalog.parameters.items():
        if record.get(name) not in (None, ""):
            try:
                values[name] = param.coerce(record[name])
            except AstroOpsError as exc:
                raise ValueError(exc.message) from exc
    status = _text(record, "status", default="unobserved").lower()
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    planned = _text(record, "planned_date", "soe_st_sched_date")
    fields = {
        "obsid": obsid, "seq_nbr": _text(record, "seq_nbr")[:16],
        "target_name": _text(record, "target_name", default=f"obsid {obsid}")[:256],
        "instrument": _text(record, "instrument", default="ACIS-S")[:16],
        "grating": _text(record, "grating", default="NONE")[:16],
        "obs_type": _text(record, "obs_type", "type", default="GO")[:8].upper(),
        "status": status, "poc": _text(record, "poc")[:128] or None,
        "planned_date": parse_instant(planned) if planned else None,
        "ra": values.get("ra"), "dec": values.get("dec"), "roll": values.get("roll_obsr"),
        "or_list": _text(record, "or_list", default="N").upper() in ("Y", "YES", "TRUE", "1"),
    }
    for name in ("seq_nbr", "target_name", "instrument", "grating", "obs_type"):
        if name in catalog.parameters:
            values.setdefault(name, fields[name])
    return fields, values


def digest_of(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


class OcatImporter(LoggingConfigurable):
    """Imports the observation catalog by hand (``import_catalog``) or periodically."""

    source = Unicode("", config=True,
                     help=("Where the catalog is: an fsspec URL of a CSV/JSON file for "
                           "FileCatalog, a SQLAlchemy URL for SqlCatalog. Empty: no import."))
    provider_class = Type(FileCatalog, klass=CatalogProvider, config=True,
                          help="Class that reads the catalog (FileCatalog or SqlCatalog).")
    storage_options = Dict(config=True,
                           help="fsspec storage options of the source (credentials, ...).")
    interval_seconds = Float(600.0, config=True,
                             help="Seconds between two periodic imports of the source.")
    enabled = Bool(True, config=True, help="Import periodically when a source is set.")
    username = Unicode("ocat-importer", config=True,
                       help="User name recorded as the author of imported observations.")

    def __init__(self, db: Database, events: EventRecorder, writer: OcatWriter,
                 catalog: Callable[[], Catalog], clock: Clock = utcnow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.db, self.events, self.writer = db, events, writer
        self.catalog, self.clock = catalog, clock
        events.register_object_type(IMPORT)
        self.provider: CatalogProvider = self.provider_class(parent=self)
        self.loop = BackgroundLoop("astro-ops-ocat-import", self._round,
                                   interval=self.interval_seconds, log=self.log)

    @property
    def periodic(self) -> bool:
        return self.enabled and bool(self.source)

    def identity(self) -> User:
        return User(self.username, display_name="Ocat catalog importer",
                    roles=frozenset({ADMIN}))

    def import_catalog(self, user: User, source: str | None = None, *, force: bool = False
                       ) -> OcatImportSummary:
        """Read the catalog and bring the observations in line (admins only)."""
        if not user.is_admin:
            raise Forbidden(f"{user.username} may not import the observation catalog")
        where = source or self.source
        if not where:
            raise ValidationError("no catalog source (c.OcatImporter.source)")
        records = self.provider.read(where, self.storage_options)
        return self.apply(user, where, records, force=force)

    def apply(self, user: User, source: str, records: list[dict[str, Any]], *,
              force: bool = False) -> OcatImportSummary:
        """Write the records' observations (one transaction); unchanged ones are skipped."""
        catalog = self.catalog()
        digest = digest_of(records)
        summary = OcatImportSummary(source=source[:1024], digest=digest, observations=len(records))
        with self.db.read() as session:
            tracked = session.get(OcatImport, summary.source)
            if tracked is not None and tracked.digest == digest and not force:
                summary.catalog_unchanged = True
                summary.unchanged = len(records)
                return summary
        now = self.clock()
        with self.db.write() as session:
            serialize(session, "ocat-import")  # one import at a time, across workers
            for record in records:
                try:
                    fields, values = observation_fields(record, catalog)
                except (KeyError, TypeError, ValueError) as exc:
                    summary.invalid.append(f"{record.get('obsid', '?')}: {exc}")
                    continue
                key = digest_of({**fields, "planned_date": fields["planned_date"]
                                 and isoformat(fields["planned_date"]), "values": values})
                outcome = self.writer.upsert_observation(session, user, fields, values, key, now)
                if outcome == "added":
                    summary.added.append(fields["obsid"])
                elif outcome == "updated":
                    summary.updated.append(fields["obsid"])
                else:
                    summary.unchanged += 1
            row = session.get(OcatImport, summary.source) or OcatImport(source=summary.source)
            row.digest, row.observations, row.imported_at = digest, len(records), now
            row.summary = {"added": len(summary.added), "updated": len(summary.updated),
                           "unchanged": summary.unchanged, "invalid": len(summary.invalid)}
            session.add(row)
            if summary.added or summary.updated:
                self.events.record(session, user, action="MOD", object_type=IMPORT,
                                   object_id=summary.source[:128], status="SUCCESS",
                                   data=row.summary, message=(
                                       f"catalog import: {len(summary.added)} added, "
                                       f"{len(summary.updated)} updated"))
        return summary

    def run_once(self) -> OcatImportSummary | None:
        try:
            return self.import_catalog(self.identity())
        except Exception:
            self.log.exception("Ocat catalog import from %s failed", self.source)
            return None

    async def _round(self) -> None:
        await asyncio.to_thread(self.run_once)


__all__ = ["IMPORT", "OcatImporter", "observation_fields"]
