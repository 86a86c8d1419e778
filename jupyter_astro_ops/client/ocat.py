"""``ops.ocat``: the Ocat REST API as Python calls, answers checked against the wire models.

    ops.ocat.submit(20001, {"roll_obsr": 120.5}, comment="new roll")  # revision + warnings
    ops.ocat.board()                 # the status board as a pandas DataFrame
    ops.ocat.sign("20001.001", "general")
    ops.ocat.express("20001-20010, 20020", dry_run=False)

A refused call raises the client's ``AstroOpsError`` subclasses (``PermissionDenied`` for a
403, ``ConflictError`` for a 409 ...), with the server's message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..ocat.schemas import (
    BoardRow,
    ExpressOut,
    ObservationOut,
    RevisionDetail,
    RevisionOut,
    RotaCurrentOut,
    RotaPeriodOut,
    SubmitOut,
)

BOARD_COLUMNS = ["revision", "target", "kind", "type", "submitter", "submitted", "state"]


class Transport(Protocol):
    """What ``OcatClient`` needs of ``AstroOps``."""

    def _get_json(self, path: str, params: dict[str, Any] | None = None) -> Any: ...
    def _send_json(self, method: str, path: str, body: dict[str, Any]) -> Any: ...


def _ref(revision: str | dict[str, Any]) -> str:
    """``"20001.002"`` or a revision dict -> ``"20001.002"``."""
    if isinstance(revision, dict):
        return str(revision["label"])
    return str(revision)


class OcatClient:
    """Ocat calls of one ``AstroOps`` client."""

    def __init__(self, client: Transport, checked: Callable[[Any, Any], Any]) -> None:
        self._client = client
        self._checked = checked  # the client's one answer check (``api.checked``)

    def submit(self, obsid: int, changes: dict[str, Any] | None = None, *,
               comment: str = "", kind: str = "norm", dry_run: bool = False) -> dict[str, Any]:
        """Submit a revision; returns ``{"revision", "warnings", "needs", "flags", ...}``."""
        body = {"obsid": obsid, "kind": kind, "changes": changes or {}, "comment": comment,
                "dry_run": dry_run}
        return dict(self._checked(SubmitOut, self._client._send_json("POST", "ocat/revisions",
                                                                body)))

    def revision(self, revision: str | dict[str, Any]) -> dict[str, Any]:
        """A revision with original / requested / current values side by side."""
        return dict(self._checked(RevisionDetail,
                             self._client._get_json(f"ocat/revisions/{_ref(revision)}")))

    def observations(self) -> list[dict[str, Any]]:
        """The observations of the catalog (current values, approved state)."""
        return list(self._checked(list[ObservationOut],
                                  self._client._get_json("ocat/observations")))

    def observation(self, obsid: int) -> dict[str, Any]:
        return dict(self._checked(ObservationOut, self._client._get_json(
            f"ocat/observations/{int(obsid)}")))

    def board_rows(self, sort: str = "submitted", order: str = "desc") -> list[dict[str, Any]]:
        """The status board as JSON rows."""
        body = self._client._get_json("ocat/board", {"sort": sort, "order": order})
        return list(self._checked(list[BoardRow], body))

    def board(self, sort: str = "submitted", order: str = "desc") -> Any:
        """The status board as a pandas DataFrame (one row per revision, a column per
        sign-off: ``pending``, ``signed (arc)``, ``—`` when not required, ...)."""
        import pandas as pd

        rows = self.board_rows(sort, order)
        columns = list(dict.fromkeys(c for r in rows for c in r["signoffs"]))
        data = []
        for r in rows:
            item = {"revision": r["label"], "target": r["target_name"], "kind": r["kind"],
                    "type": r["obs_type"], "submitter": r["submitter"],
                    "submitted": pd.Timestamp(r["submitted"]), "state": r["state"]}
            for c in columns:
                s = r["signoffs"].get(c) or {}
                status = s.get("status", "")
                item[c] = "—" if status == "not_required" else (
                    f"{status} ({s['signer']})" if s.get("signer") else status)
            item["notes"] = "; ".join(r["notes"])
            data.append(item)
        return pd.DataFrame(data, columns=[*BOARD_COLUMNS, *columns, "notes"])

    def sign(self, revision: str | dict[str, Any], column: str, *, note: str = "",
             approve: bool = False, version: int | None = None) -> dict[str, Any]:
        """Sign one column (``approve=True`` on verification also approves)."""
        body: dict[str, Any] = {"column": column, "note": note, "approve": approve}
        if version is not None:
            body["version"] = version
        return self._post(revision, "sign", body)

    def undo(self, revision: str | dict[str, Any], column: str) -> dict[str, Any]:
        return self._post(revision, "undo", {"column": column})

    def discard(self, revision: str | dict[str, Any], reason: str) -> dict[str, Any]:
        return self._post(revision, "discard", {"reason": reason})

    def withdraw(self, revision: str | dict[str, Any]) -> dict[str, Any]:
        return self._post(revision, "withdraw", {})

    def express(self, obsids: str | list[int], *, dry_run: bool = True,
                comment: str = "") -> dict[str, Any]:
        """Verdict per obsid (``dry_run``), or approve what is approvable."""
        text = obsids if isinstance(obsids, str) else ",".join(str(int(o)) for o in obsids)
        body = {"obsids": text, "dry_run": dry_run, "comment": comment}
        answer = self._client._send_json("POST", "ocat/express", body)
        return dict(self._checked(ExpressOut, answer))

    def rota(self) -> list[dict[str, Any]]:
        return list(self._checked(list[RotaPeriodOut], self._client._get_json("ocat/rota")))

    def on_duty(self) -> dict[str, Any]:
        """``GET ocat/rota/current``."""
        return dict(self._checked(RotaCurrentOut, self._client._get_json("ocat/rota/current")))

    def _post(self, revision: str | dict[str, Any], action: str, body: dict[str, Any]
              ) -> dict[str, Any]:
        path = f"ocat/revisions/{_ref(revision)}/{action}"
        return dict(self._checked(RevisionOut, self._client._send_json("POST", path, body)))


__all__ = ["OcatClient"]
