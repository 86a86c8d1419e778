"""Ocat demo data: users in every sign-off group, a synthetic catalog, a few open revisions.

* ``with_ocat(spec)`` adds the Ocat demo users (POCs in ``usint``, ``arcops``, ``acis``,
  ``hrc``, mission planning) and their roles to the demo description;
* ``demo_config(base, spec)`` writes a synthetic catalog of ~200 observations next to the demo
  (once) and returns the Ocat config: the catalog import source, and mail **off**
  (``c.Mailer.enabled = False``: messages are queued in the outbox table and never sent; test
  mode is on too, so switching SMTP on sends everything to the acting user, prefixed TEST);
* ``seed_ocat(services, users, spec)`` imports the catalog through the importer and submits a
  few revisions through the service, so each group has something to sign; idempotent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..compose import Services
from ..core.identity import User
from ..ocat.schemas import SignIn, SubmitIn
from ..ocat.synthetic import synthetic_catalog, write_catalog

USERS = {
    "pocone": {"display_name": "Pat Onelli (POC, usint)", "groups": ["usint"]},
    "poctwo": {"display_name": "Quinn Twomey (POC, usint)", "groups": ["usint"]},
    "arcone": {"display_name": "Ari Cops (arcops)", "groups": ["arcops"]},
    "acisone": {"display_name": "Ada Cisneros (ACIS)", "groups": ["acis"]},
    "hrcone": {"display_name": "Hal Rodriguez (HRC)", "groups": ["hrc"]},
    "mpone": {"display_name": "Mia Planner (mission planning)", "groups": ["mp"]},
}
ROLES = {"usint": ["group:usint"], "arcops": ["group:arcops"], "acis": ["group:acis"],
         "hrc": ["group:hrc"], "mp": ["group:mp"], "cdo": ["alice"]}
CATALOG_SIZE = 200
CATALOG_KEY = "ocat_catalog"
OCAT_CONFIG = "ocat_config"  # the Ocat config sections, for the seeding services too


def with_ocat(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with the Ocat users and roles added (existing entries kept)."""
    users = {**USERS, **spec.get("users", {})}
    roles = {role: sorted({*spec.get("roles", {}).get(role, []), *ROLES.get(role, [])})
             for role in {*spec.get("roles", {}), *ROLES}}
    return {**spec, "users": users, "roles": roles}


def demo_config(base: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Write the catalog once; the Ocat sections of the demo's Jupyter config."""
    path = base / "ocat_catalog.json"
    if not path.exists():
        write_catalog(synthetic_catalog(CATALOG_SIZE), path.as_uri())
    spec[CATALOG_KEY] = path.as_uri()
    spec[OCAT_CONFIG] = {
        "OcatImporter": {"source": path.as_uri()},
        "Mailer": {"enabled": False, "test_mode": True, "from_address": "ocat@astro-ops.demo"},
        "OcatNotifier": {"mail_domain": "astro-ops.demo",
                         "role_addresses": {"arcops": "arcops@astro-ops.demo",
                                            "acis": "acis@astro-ops.demo",
                                            "hrc": "hrc@astro-ops.demo",
                                            "usint": "usint@astro-ops.demo",
                                            "mp": "mp@astro-ops.demo",
                                            "cdo": "cdo@astro-ops.demo"}},
    }
    return dict(spec[OCAT_CONFIG])


def _pick(services: Services, user: User, instrument: str, obs_type: str | None = None,
          taken: set[int] | None = None) -> int | None:
    for obs in services.ocat.service.list_observations(user):
        if (obs.status in ("unobserved", "scheduled") and obs.instrument.startswith(instrument)
                and (obs_type is None or obs.obs_type == obs_type)
                and obs.obsid not in (taken or set())
                and (obs.values.get("si_mode") or obs.values.get("hrc_si_mode"))):
            return obs.obsid
    return None


def seed_ocat(services: Services, users: dict[str, User], spec: dict[str, Any]) -> list[str]:
    """Import the catalog and add the demo revisions (only into an empty Ocat)."""
    ocat, done = services.ocat, []
    source = spec.get(CATALOG_KEY)
    admin = next(u for u in users.values() if u.is_admin)
    if source:
        summary = ocat.importer.import_catalog(admin, source)
        if summary.added:
            done.append(f"ocat: {len(summary.added)} observations imported")
    if ocat.service.board(admin) or not ocat.service.list_observations(admin, limit=1):
        return done
    taken: set[int] = set()
    plans: list[tuple[str, str, str | None, dict[str, Any], str]] = [
        ("pocone", "ACIS", None, {"bep_pack": "VF", "frame_time": 2.8},
         "Faint diffuse emission: very faint mode, shorter frame time."),
        ("poctwo", "HRC", None, {"hrc_si_mode": "HRCTIMING"},
         "Timing mode for the pulsar search."),
        ("pocone", "ACIS", None, {"roll_obsr": 245.0, "roll_flag": "Y",
                                  "roll_tolerance": 5.0}, "Keep the jet off the chip gap."),
        ("poctwo", "ACIS", "TOO", {"ra": None, "dec": None},
         "Updated position of the transient <from the ATel>."),
        ("pocone", "ACIS", None, {"target_name": "Renamed per PI", "spwindow_flag": "Y"},
         "PI asks for a spatial window; window details to follow."),
    ]
    for who, instrument, obs_type, changes, comment in plans:
        obsid = _pick(services, admin, instrument, obs_type, taken)
        if obsid is None:
            continue
        taken.add(obsid)
        obs = ocat.service.observation(admin, obsid)
        if "ra" in changes:  # move the pointing by about 12 arcmin: CDO approval needed
            changes = {"ra": round((obs.ra or 0) + 0.2, 5), "dec": obs.dec}
        out = ocat.service.submit(users[who], SubmitIn(obsid=obsid, changes=changes,
                                                       comment=comment))
        assert out.revision is not None
        done.append(f"ocat: {who} submits {out.revision.label} ({len(out.warnings)} warnings)")
    board = ocat.service.board(admin)
    if board:  # one revision half-way: arcops has signed general
        first = next((r for r in board if r.signoffs.get("general") and
                      r.signoffs["general"]["status"] == "pending"), None)
        if first is not None:
            ocat.service.sign(users["arcone"], first.obsid, first.rev, SignIn(
                column="general", note="roll is fine"))
            done.append(f"ocat: arcone signs general of {first.label}")
    week = ocat.rota.periods(admin)
    current = ocat.rota.current(admin).period
    if current is not None and current.poc is None:
        ocat.rota.signup(users["pocone"], current.id)
        done.append("ocat: pocone is on POC duty this week")
    if len(week) > 1 and week[1].poc is None:
        ocat.rota.assign(admin, week[1].id, "poctwo")
    return done


__all__ = ["OCAT_CONFIG", "ROLES", "USERS", "demo_config", "seed_ocat", "with_ocat"]
