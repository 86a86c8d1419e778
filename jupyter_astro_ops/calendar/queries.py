"""SQL building blocks of the calendar: overlap queries that use the indexes, row conversion.

Overlap of half-open intervals: ``[a, b)`` and ``[s, e)`` overlap iff ``a < e and b > s``;
touching intervals (``b == s``) do not. With only those two predicates the ``(site, start,
end)`` index would be read from the site's first reservation up to ``e``. Every site stores the
longest span it has ever held (``Site.max_span_s``), so the scan can start at ``s - max_span``:
no reservation starting earlier can reach ``s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    Table,
    and_,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from ..core.db import UTCDateTime
from ..core.driver import DriverStatement
from ..core.timeutil import utcnow
from .models import Reservation, Site
from .schemas import ReservationOut, SiteOut


def to_out(row: Reservation) -> ReservationOut:
    """Convert a row to its wire model."""
    return ReservationOut(
        id=row.id, site=row.site, start=row.start, end=row.end, title=row.title,
        type=row.type, origin=row.origin, external_id=row.external_id,  # type: ignore[arg-type]
        creator_id=row.creator_id, creator_name=row.creator_name, project_id=row.project_id,
        note=row.note, status=row.status, sequence=row.sequence,  # type: ignore[arg-type]
        version=row.version, created=row.created, modified=row.modified,
        cancelled_at=row.cancelled_at,
    )


def row_out(values: Any) -> ReservationOut:
    """Convert a Core result row (or a dict of column values) to its wire model."""
    return ReservationOut.model_validate(dict(values))


def site_out(row: Site) -> SiteOut:
    return SiteOut(code=row.code, name=row.name, timezone=row.timezone,
                   created_by=row.created_by, created=row.created)


def upsert_sites(session: Session, sites: dict[str, dict[str, Any]]) -> None:
    """Insert the configured ``sites`` (code -> name, timezone) or update their rows."""
    for code, spec in sites.items():
        row = session.get(Site, code)
        if row is None:
            row = Site(code=code, max_span_s=0, created_by="config", created=utcnow())
            session.add(row)
        row.name = spec.get("name", code)
        row.timezone = spec.get("timezone", "UTC")


def max_spans(session: Session, sites: Sequence[str] | None) -> dict[str, int]:
    """``{site: longest span in seconds}`` for ``sites`` (all sites when ``None``)."""
    stmt = select(Site.code, Site.max_span_s)
    if sites is not None:
        stmt = stmt.where(Site.code.in_(list(sites)))
    return {code: int(span or 0) for code, span in session.execute(stmt)}


def span_floor(dialect: str, site: str, start: datetime) -> ColumnElement[Any]:
    """``start - site.max_span_s`` computed in SQL (one round trip less than reading it first).

    An unknown site gives NULL, hence no rows. On SQLite ``datetime()`` drops the fraction of a
    second, which only lowers (so never narrows) the bound.
    """
    span = select(Site.max_span_s).where(Site.code == site).scalar_subquery()
    when = literal(start, UTCDateTime())
    if dialect == "postgresql":
        return cast(when, DateTime(timezone=True)) - func.make_interval(0, 0, 0, 0, 0, 0, span)
    return func.datetime(when, literal("-").concat(span).concat(" seconds"))


def overlapping_stmt(
    site: str, start: datetime, end: datetime, span_s: int | ColumnElement[Any], *,
    active_only: bool = True, exclude_id: str | None = None,
) -> Select[Reservation]:
    """Reservations at ``site`` overlapping ``[start, end)``, ordered by start.

    ``span_s`` is the site's longest span in seconds, or a ``span_floor`` expression.
    """
    floor = start - timedelta(seconds=span_s) if isinstance(span_s, int) else span_s
    stmt = select(Reservation).where(
        Reservation.site == site,
        Reservation.start >= floor,
        Reservation.start < end,
        Reservation.end > start,
    )
    if active_only:
        stmt = stmt.where(Reservation.status == "active")
    if exclude_id is not None:
        stmt = stmt.where(Reservation.id != exclude_id)
    return stmt.order_by(Reservation.start)


def overlapping(
    session: Session, sites: dict[str, int] | Sequence[str] | None, start: datetime,
    end: datetime, *, active_only: bool = True, exclude_id: str | None = None,
) -> list[Reservation]:
    """Reservations at ``sites`` overlapping ``[start, end)``.

    ``sites`` is a list of codes (``None``: all sites) or, to save a query, the
    ``{code: span}`` dict that ``max_spans`` returned earlier in the same transaction.
    """
    spans = sites if isinstance(sites, dict) else max_spans(session, sites)
    rows: list[Reservation] = []
    for code, span in sorted(spans.items()):
        stmt = overlapping_stmt(code, start, end, span, active_only=active_only,
                                exclude_id=exclude_id)
        rows.extend(session.scalars(stmt))
    if len(spans) > 1:
        rows.sort(key=lambda r: (r.start, r.site))
    return rows


def overlapping_one(
    session: Session, site: str, start: datetime, end: datetime, *, active_only: bool = True,
    exclude_id: str | None = None,
) -> list[Reservation]:
    """Reservations at one ``site`` overlapping ``[start, end)`` in a single statement."""
    floor = span_floor(session.get_bind().dialect.name, site, start)
    stmt = overlapping_stmt(site, start, end, floor, active_only=active_only,
                            exclude_id=exclude_id)
    return list(session.scalars(stmt))


_RESERVATIONS: Table = Reservation.__table__  # type: ignore[assignment]
# a booking's two statements, compiled once and run on the driver (``core.db.DriverStatement``)
INSERT_RESERVATION = DriverStatement(insert(_RESERVATIONS), keys=list(_RESERVATIONS.c.keys()))
_PROBES: dict[str, Select[Any]] = {}
_DRIVER_PROBES: dict[str, DriverStatement] = {}


def probe_stmt(dialect: str) -> Select[Any]:
    """One statement for a booking's checks at ``:site`` over ``[:start, :end)``: the site's
    longest span (``span``, no row at all for an unknown site) and, joined to it, every active
    reservation overlapping the window (NULL columns when none). The range starts at
    ``:start - span`` as in ``span_floor``, so it reads the ``(site, start, end)`` index.
    Built once per dialect."""
    if dialect not in _PROBES:
        start = bindparam("start", type_=UTCDateTime())
        end = bindparam("end", type_=UTCDateTime())
        if dialect == "postgresql":
            floor: ColumnElement[Any] = cast(start, DateTime(timezone=True)) - func.make_interval(
                0, 0, 0, 0, 0, 0, Site.max_span_s)
        else:
            floor = func.datetime(start, literal("-").concat(Site.max_span_s).concat(" seconds"))
        cols = _RESERVATIONS.c
        overlap = and_(cols.site == Site.code, cols.start >= floor, cols.start < end,
                       cols.end > start, cols.status == "active")
        _PROBES[dialect] = (
            select(Site.max_span_s.label("span"), *cols)
            .select_from(Site.__table__.outerjoin(_RESERVATIONS, overlap))
            .where(Site.code == bindparam("site"))
            .order_by(cols.start))
    return _PROBES[dialect]


def driver_probe(dialect: str) -> DriverStatement:
    """``probe_stmt`` on the driver: rows of plain values, ``(span, id, ...)``."""
    if dialect not in _DRIVER_PROBES:
        _DRIVER_PROBES[dialect] = DriverStatement(probe_stmt(dialect))
    return _DRIVER_PROBES[dialect]


def site_exists(session: Session, site: str) -> bool:
    return session.scalar(select(Site.code).where(Site.code == site)) is not None


def widen_span(
    session: Session, site: str, start: datetime, end: datetime, *, known: int = 0
) -> None:
    """Record that ``site`` now holds a reservation as long as ``end - start``.

    ``known`` is the span read in this transaction; the UPDATE is skipped when it is enough
    (the ``WHERE`` keeps the value monotonic if two writers widen at once).
    """
    span = int((end - start).total_seconds()) + 1
    if span <= known:
        return
    session.execute(
        update(Site).where(Site.code == site, Site.max_span_s < span).values(max_span_s=span)
    )
