"""Ocat REST API: submission, detail, sign/undo/discard/withdraw, board, express, rota, iCal;
400 on bad input, 403 for the wrong group, 409 on a stale version, no state change on GET."""

from __future__ import annotations

import json
from typing import Any

import pytest

ALL = {"roll_obsr": 120.5, "bep_pack": "VF", "ra": 83.64}


async def _loaded(ocat_api: Any) -> None:
    status, summary, _ = await ocat_api("root", "POST", "imports", body={})
    assert status == 200 and len(summary["added"]) == 10, summary


async def _submit(ocat_api: Any, obsid: int = 1001, **body: Any) -> Any:
    status, out, headers = await ocat_api("pocone", "POST", "revisions",
                                          body={"obsid": obsid, "changes": ALL, **body})
    assert status == 201, out
    assert headers["Location"].endswith(f"/astro-ops/api/v1/ocat/revisions/{obsid}.001")
    return out


async def test_submit_detail_sign_flow(ocat_api: Any) -> None:
    await _loaded(ocat_api)
    status, dry, _ = await ocat_api("pocone", "POST", "revisions",
                                    body={"obsid": 1001, "changes": ALL, "dry_run": True})
    assert status == 200 and dry["revision"] is None
    assert dry["needs"]["acis_si"] == "pending" and dry["needs"]["hrc_si"] == "not_required"
    out = await _submit(ocat_api, comment="<script>alert(1)</script>")
    label = out["revision"]["label"]
    assert label == "1001.001"
    status, detail, headers = await ocat_api("arc", "GET", "revisions", label)
    assert status == 200 and headers["ETag"] == f'"{detail["version"]}"'
    roll = next(v for v in detail["values"] if v["name"] == "roll_obsr")
    assert roll == {"name": "roll_obsr", "group": "roll", "original": 100.0,
                    "requested": 120.5, "current": 100.0, "changed": True}
    assert detail["comment"] == "<script>alert(1)</script>"  # stored as written, JSON-safe
    status, signed, _ = await ocat_api("arc", "POST", "revisions", label, "sign",
                                       body={"column": "general"},
                                       headers={"If-Match": headers["ETag"]})
    assert status == 200
    assert {s["column"]: s["status"] for s in signed["signoffs"]}["general"] == "signed"
    status, err, _ = await ocat_api("arc", "POST", "revisions", label, "sign",
                                    body={"column": "acis", "version": detail["version"]})
    assert status == 409, err  # stale version
    status, err, _ = await ocat_api("arc", "POST", "revisions", label, "sign",
                                    body={"column": "acis_si"})
    assert status == 403 and err["reason"] == "forbidden"  # wrong group
    status, _, _ = await ocat_api("arc", "POST", "revisions", label, "undo",
                                  body={"column": "general"})
    assert status == 200
    status, out, _ = await ocat_api("pocone", "POST", "revisions", label, "withdraw", body={})
    assert status == 200 and out["state"] == "withdrawn"


async def test_board_discard_express(ocat_api: Any) -> None:
    await _loaded(ocat_api)
    await _submit(ocat_api)
    await _submit(ocat_api, 1008)
    status, rows, _ = await ocat_api("arc", "GET", "board", params={"sort": "obsid",
                                                                    "order": "asc"})
    assert status == 200 and [r["label"] for r in rows] == ["1001.001", "1008.001"]
    assert rows[0]["signoffs"]["acis"]["status"] == "pending"
    status, _, _ = await ocat_api("arc", "POST", "revisions", "1008.001", "discard",
                                  body={"reason": "no"})
    assert status == 403
    status, out, _ = await ocat_api("pocone", "POST", "revisions", "1008.001", "discard",
                                    body={"reason": "duplicate"})
    assert status == 200 and out["state"] == "closed"
    status, dry, _ = await ocat_api("pocone", "POST", "express",
                                    body={"obsids": "1001-1003;4242", "dry_run": True})
    assert status == 200
    assert [i["verdict"] for i in dry["items"]] == ["approvable", "approvable",
                                                    "blocked: no SI mode", "unknown"]
    status, done, _ = await ocat_api("pocone", "POST", "express",
                                     body={"obsids": "1001-1003;4242", "dry_run": False})
    assert status == 200 and done["approved"] == ["1001.002", "1002.001"]
    assert done["skipped"] == {"blocked: no SI mode": [1003], "unknown": [4242]}
    status, obs, _ = await ocat_api("arc", "GET", "observations", "1001")
    assert status == 200 and obs["approved"] is True


async def test_no_state_change_on_get(ocat_api: Any) -> None:
    await _loaded(ocat_api)
    await _submit(ocat_api)
    _, before, _ = await ocat_api("root", "GET", "revisions", "1001.001")
    for path in (("revisions", "1001.001", "sign"), ("revisions", "1001.001", "discard"),
                 ("revisions", "1001.001", "withdraw"), ("revisions", "1001.001", "undo"),
                 ("express",), ("imports",), ("rota", "1", "signup")):
        status, _, _ = await ocat_api("root", "GET", *path, params={"column": "general"})
        assert status == 405, path
    _, after, _ = await ocat_api("root", "GET", "revisions", "1001.001")
    assert after == before


@pytest.mark.parametrize("body", [
    {"obsid": 1001, "changes": {"nope": 1}},
    {"obsid": 1001, "changes": {"ra": "east"}},
    {"obsid": 0},
    {"obsid": 1001, "kind": "other"},
    {"obsid": 1001, "changes": {"remarks": "x" * 5000}},
    {"obsid": 1001, "comment": "nul\u0000byte"},
    {"obsid": 1001, "extra": True},
    {"obsid": "1001; DROP TABLE ocat_revisions"},
], ids=["unknown", "type", "obsid", "kind", "long", "nul", "extra", "injection"])
async def test_bad_submissions_are_400(ocat_api: Any, body: dict[str, Any]) -> None:
    await _loaded(ocat_api)
    status, err, _ = await ocat_api("pocone", "POST", "revisions", body=body)
    assert status == 400, err
    assert "message" in err


async def test_bad_input_elsewhere_is_400(ocat_api: Any) -> None:
    await _loaded(ocat_api)
    await _submit(ocat_api)
    cases = [
        ("POST", ("revisions", "1001.001", "sign"), {"column": "Bad Column"}),
        ("POST", ("revisions", "1001.001", "sign"), {"column": "nonexistent"}),
        ("POST", ("revisions", "1001.001", "discard"), {"reason": ""}),
        ("POST", ("express",), {"obsids": "1-100000"}),
        ("POST", ("express",), {"obsids": "abc"}),
        ("POST", ("express",), {"obsids": "1" * 30000}),
        ("GET", ("board",), None),
    ]
    for method, path, body in cases:
        params = {"sort": "nonsense"} if method == "GET" else None
        status, err, _ = await ocat_api("root", method, *path, body=body, params=params)
        assert status == 400, (path, body, err)
    status, _, _ = await ocat_api("pocone", "POST", "revisions", raw_body=b"{not json")
    assert status == 400
    status, _, _ = await ocat_api("arc", "POST", "revisions", "1001.001", "sign",
                                  body={"column": "general"}, headers={"If-Match": '"abc"'})
    assert status == 400
    assert (await ocat_api("root", "GET", "revisions", "1001.009"))[0] == 404


async def test_roles_on_rest(ocat_api: Any) -> None:
    await _loaded(ocat_api)
    status, _, _ = await ocat_api("arc", "POST", "revisions", body={"obsid": 1001})
    assert status == 403
    status, _, _ = await ocat_api("arc", "POST", "express", body={"obsids": "1001"})
    assert status == 403
    status, _, _ = await ocat_api("pocone", "POST", "imports", body={})
    assert status == 403
    assert (await ocat_api(None, "GET", "board"))[0] == 403


async def test_rota_rest_and_ical(ocat_api: Any, jp_fetch: Any) -> None:
    status, periods, _ = await ocat_api("pocone", "GET", "rota")
    assert status == 200 and len(periods) >= 34
    first = periods[0]
    status, mine, _ = await ocat_api("pocone", "POST", "rota", str(first["id"]), "signup",
                                     body={"version": first["version"]})
    assert status == 200 and mine["poc"] == "pocone"
    status, now, _ = await ocat_api("arc", "GET", "rota", "current")
    assert status == 200 and now["poc"] == "pocone"
    assert (await ocat_api("arc", "POST", "rota", str(first["id"]), "signup", body={}))[0] == 403
    status, parts, _ = await ocat_api("root", "POST", "rota", str(periods[1]["id"]), "split",
                                      body={"at": periods[1]["start"]})
    assert status == 400  # the first day cannot start the second part
    status, _, _ = await ocat_api("root", "DELETE", "rota", str(periods[1]["id"]))
    assert status == 204
    status, _, _ = await ocat_api("pocone", "DELETE", "rota", str(periods[2]["id"]))
    assert status == 403
    resp = await jp_fetch("astro-ops", "api", "v1", "calendar", "feed-token", method="POST",
                          body="{}", headers={"Authorization": "token tok-ocat-pocone-01"})
    token = json.loads(resp.body)
    resp = await jp_fetch("astro-ops", "api", "v1", "ocat", "rota.ics",
                          params={"feed_token": token["token"]}, headers={"Authorization": ""})
    assert resp.code == 200 and b"POC duty: pocone" in resp.body


async def test_the_catalog_lists_every_group_and_column(ocat_api: Any) -> None:
    """``GET ocat/parameters``: the packaged catalog, each parameter in one of the seven groups,
    each column with the role that signs it."""
    status, out, _ = await ocat_api("arc", "GET", "parameters")
    assert status == 200 and len(out["parameters"]) >= 40
    assert set(out["groups"]) == {"general", "time", "roll", "acis", "acis_window", "acis_si",
                                  "hrc_si"}
    assert {p["group"] for p in out["parameters"]} == set(out["groups"])
    columns = {c["name"]: c for c in out["columns"]}
    assert columns["hrc_si"]["role"] == "hrc" and columns["usint_verification"]["verification"]
    hrc = next(p for p in out["parameters"] if p["name"] == "hrc_si_mode")
    assert hrc["group"] == "hrc_si" and hrc["modifiable"]
