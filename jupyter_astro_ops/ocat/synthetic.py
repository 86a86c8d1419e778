"""A synthetic, Chandra-like observation catalog for the demo, the tests and the benchmark.

``synthetic_catalog(n, seed=..., now=...)`` returns ``n`` deterministic records in the shape
the importer reads (one dict per observation: fields plus parameter values). The mix is
realistic enough to exercise every rule: ACIS and HRC, gratings, GO/TOO/DDT/GTO/CAL, every
status, some observations without an SI mode, some on the OR list, planned dates from last
month to next year. ``write_catalog`` saves it as JSON or CSV on any fsspec URL.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timedelta
from typing import Any

import fsspec

from ..core.timeutil import isoformat, utcnow

TARGETS = ("Cas A", "Crab Nebula", "Sgr A*", "M87", "Perseus Cluster", "Eta Carinae",
           "Vela Pulsar", "3C 273", "NGC 4151", "Abell 1689", "Tycho SNR", "Cyg X-1",
           "M31 Nucleus", "Orion Trapezium", "Centaurus A", "SN 1987A", "PKS 2155-304",
           "GRS 1915+105", "Swift J1644+57", "RX J1713.7-3946")
POCS = ("pocone", "poctwo", "pocthree", "pocfour")
STATUS_WEIGHTS = {"unobserved": 50, "scheduled": 20, "untriggered": 8, "observed": 12,
                  "archived": 6, "canceled": 3, "discarded": 1}
TYPE_WEIGHTS = {"GO": 70, "TOO": 10, "DDT": 5, "GTO": 10, "CAL": 5}


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def synthetic_catalog(n: int = 200, *, seed: int = 10, first_obsid: int = 20001,
                      now: datetime | None = None) -> list[dict[str, Any]]:
    """``n`` observations, the same for the same arguments."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    now = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
    out = []
    for i in range(n):
        obsid = first_obsid + i
        instrument = rng.choices(["ACIS-I", "ACIS-S", "HRC-I", "HRC-S"], [40, 40, 10, 10])[0]
        acis = instrument.startswith("ACIS")
        grating = rng.choices(["NONE", "HETG", "LETG"], [80, 12, 8])[0]
        record: dict[str, Any] = {
            "obsid": obsid, "seq_nbr": f"{500000 + i // 3:06d}",
            "target_name": f"{TARGETS[i % len(TARGETS)]} {chr(65 + i % 26)}{i // 26}",
            "instrument": instrument, "grating": grating,
            "obs_type": _pick(rng, TYPE_WEIGHTS), "status": _pick(rng, STATUS_WEIGHTS),
            "poc": POCS[i % len(POCS)],
            "planned_date": isoformat(now + timedelta(days=rng.randint(-30, 365))),
            "or_list": "Y" if rng.random() < 0.1 else "N",
            "ra": round(rng.uniform(0, 360), 5), "dec": round(rng.uniform(-89, 89), 5),
            "roll_obsr": round(rng.uniform(0, 360), 2),
            "approved_exposure_time": round(rng.choice([10, 20, 30, 50, 100]) * 1.0, 1),
            "dither_flag": "N", "uninterrupt": "N", "photometry_flag": "N",
            "window_flag": "N", "roll_flag": "N", "phase_constraint_flag": "N",
            "est_cnt_rate": round(rng.uniform(0.01, 50), 3),
            "remarks": "",
        }
        if acis:
            record.update(exp_mode="TE", bep_pack=rng.choice(["F", "VF"]), most_efficient="Y",
                          subarray="NONE", spwindow_flag="N", eventfilter="N", duty_cycle="N",
                          onchip_sum="N", ccdi0_on="Y", ccdi1_on="Y", ccdi2_on="Y",
                          ccdi3_on="Y", ccds2_on="Y", ccds3_on="O1")
            if rng.random() > 0.05:
                record["si_mode"] = f"TE_{rng.randint(0, 0xFFF):03X}"
        else:
            if rng.random() > 0.1:
                record["hrc_si_mode"] = rng.choice(["DEFAULT", "HRCIMG", "HRCTIMING"])
        out.append(record)
    return out


def write_catalog(records: list[dict[str, Any]], url: str) -> str:
    """Save ``records`` at ``url`` (``.csv``: CSV, else JSON); returns ``url``."""
    if url.lower().endswith(".csv"):
        names = sorted({k for r in records for k in r}, key=lambda k: (k != "obsid", k))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=names)
        writer.writeheader()
        writer.writerows(records)
        data = buffer.getvalue().encode("utf-8")
    else:
        data = json.dumps({"observations": records}, indent=1).encode("utf-8")
    with fsspec.open(url, "wb") as handle:
        handle.write(data)
    return url


__all__ = ["synthetic_catalog", "write_catalog"]
