"""What a submission would do, and the sticky sign-offs it carries forward.

``Plan`` is computed inside the submission's write transaction (or for a dry run): the
initial sign-offs, warnings, flags and the older revisions it supersedes. ``carry`` moves a
signature from the superseded revision to the new one when that column's parameters did not
change between the two (Gerrit's copied votes); ``column_row`` finds one column's row.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import ValidationError
from .catalog import Catalog
from .models import OcatObservation, OcatRevision, OcatSignoff
from .schemas import RevisionOut, SubmitOut, revision_label
from .writes import OcatWriter

SIGNED = ("signed", "carried")


def carry(catalog: Catalog, writer: OcatWriter, rev: OcatRevision,
          signoffs: list[OcatSignoff], old: OcatRevision, old_signoffs: list[OcatSignoff]
          ) -> list[str]:
    """Pending columns of ``rev`` whose parameters did not change since ``old``, and that
    ``old`` had signed, take over the signature (``carried``)."""
    before = {**(old.original or {}), **(old.requested or {})}
    after = {**(rev.original or {}), **(rev.requested or {})}
    signed = {s.column: s for s in old_signoffs if s.status in SIGNED}
    out = []
    for s in signoffs:
        source = signed.get(s.column)
        if s.status != "pending" or source is None:
            continue
        column = catalog.column(s.column)
        if all(catalog.parameter(n).same(before.get(n), after.get(n))
               for n in catalog.watched(column)):
            note = f"carried from {revision_label(old.obsid, old.rev)}"
            writer.set_signoff(s, "carried", signer=source.signer, at=source.signed_at,
                               note=note)
            out.append(s.column)
    return out


class Plan:
    """What a submission would do (computed in the write transaction, or for a dry run)."""

    def __init__(self, obs: OcatObservation, needs: dict[str, str], warnings: list[Any],
                 flags: list[str], older: list[OcatRevision], dry_run: bool) -> None:
        self.obs, self.needs, self.warnings = obs, needs, warnings
        self.flags, self.older, self.dry_run = flags, older, dry_run

    def out(self, revision: RevisionOut | None, carried: list[str] | None = None) -> SubmitOut:
        shown = {k: ("signed" if v == "signed_by_submitter" else v) for k, v in self.needs.items()}
        return SubmitOut(dry_run=self.dry_run, revision=revision, warnings=self.warnings,
                         needs=shown, flags=self.flags,  # type: ignore[arg-type]
                         superseded=[revision_label(r.obsid, r.rev) for r in self.older],
                         carried=carried or [])


def column_row(signoffs: list[OcatSignoff], name: str) -> OcatSignoff:
    for s in signoffs:
        if s.column == name:
            return s
    raise ValidationError(f"this revision has no {name} column")
