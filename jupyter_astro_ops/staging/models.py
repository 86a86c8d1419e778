"""ORM rows of staging: jobs and the files planned for each job (for resume after a crash)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, literal_column
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnClause

from ..core.db import Base, UTCDateTime
from ..core.timeutil import utcnow


class StagingJob(Base):
    """One staging request. ``status``: queued, running, succeeded, failed, cancelled.

    ``root_dir`` is the working directory of the server that queued the job: every target
    lies inside it, and a runner only claims jobs whose directory it serves (its own, or every
    user's home for the JupyterHub worker). ``claimed_by``/``lease_until`` name the runner that
    holds a running job and until when: it renews the lease with each progress write, and a
    job whose lease ran out (its runner died) is queued again by any runner. ``planned`` is set
    once every file has a ``StagingFile`` row, so a resumed job does not list its source again.
    ``version`` is a compare-and-set counter against lost updates between the runner and a
    cancelling user.
    """

    __tablename__ = "staging_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(128), index=True)
    root: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    root_dir: Mapped[str] = mapped_column(Text)
    planned: Mapped[bool] = mapped_column(default=False)
    files_total: Mapped[int] = mapped_column(Integer, default=0)
    files_done: Mapped[int] = mapped_column(Integer, default=0)
    files_skipped: Mapped[int] = mapped_column(Integer, default=0)
    files_failed: Mapped[int] = mapped_column(Integer, default=0)
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    event_id: Mapped[str | None] = mapped_column(String(32))
    cancel_requested_by: Mapped[str | None] = mapped_column(String(128))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_staging_jobs_status_lease", "status", "lease_until"),)


# ``state = 'failed'`` spelled as SQL, not bound: a partial index is used only by a query whose
# WHERE visibly implies the index's (PostgreSQL's generic plans cannot see a bound value)
FAILED: ColumnClause[str] = literal_column("'failed'")


class StagingFile(Base):
    """One file of a job: ``state`` pending, done, skipped or failed; ``checksum`` once known.

    Only failed files are indexed by state (``ix_staging_files_failed``, partial: the job log
    lists them). An index of every file by state cost each planned file's insert and each
    progress update a second index write: 10,000 files spent 118-134 ms in the plan's
    insert and 132-147 ms in the final update with it, 76-100 and 68-87 ms without.
    """

    __tablename__ = "staging_files"

    job_id: Mapped[str] = mapped_column(
        ForeignKey("staging_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    relpath: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    checksum: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_staging_files_failed", "job_id", "seq",
                            sqlite_where=state == FAILED, postgresql_where=state == FAILED),)
