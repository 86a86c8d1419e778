"""``AstroOps``: the REST API of jupyter_astro_ops as Python calls (requests, synchronous).

Inside a notebook ``AstroOps()`` finds its own server (see ``discovery``); elsewhere pass
``url=`` and ``token=``. Every non-2xx answer is raised as an ``AstroOpsError`` subclass carrying
the server's ``message``, ``reason`` and ``details``. Every 2xx answer is checked against the
same pydantic wire model the server serves (the domains' ``schemas`` modules) and handed back
as plain JSON data; a body that does not match is a ``ProtocolError``, never a guess.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import pydantic
import requests

from ..calendar.schemas import ReservationOut, SiteOut, ValidateOut
from ..staging.schemas import JobLog, JobOut, LsOut, MethodsOut, RootOut
from .discovery import ServerInfo, find_server
from .errors import ConnectionFailed, PermissionDenied, ProtocolError, error_from_response
from .jobs import Job
from .live import LiveFeed
from .ocat import OcatClient
from .planner import PlannerClient

API = "astro-ops/api/v1/"


def parse_location(spec: str | dict[str, Any] | tuple[str, str]) -> dict[str, str]:
    """``"archive:night1/"`` (or ``("archive", "night1/")``) -> ``{"root", "path"}``."""
    if isinstance(spec, dict):
        return {"root": str(spec["root"]), "path": str(spec.get("path", ""))}
    if isinstance(spec, tuple):
        root, path = spec
        return {"root": root, "path": path}
    root, sep, path = str(spec).partition(":")
    if not sep or not root:
        raise ValueError(f"expected '<root>:<path>', e.g. 'archive:night1/', got {spec!r}")
    return {"root": root, "path": path}


def _instant(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone; use e.g. tzinfo=timezone.utc")
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


_ADAPTERS: dict[Any, pydantic.TypeAdapter[Any]] = {}


def checked(kind: Any, body: Any) -> Any:
    """``body`` validated as the wire model ``kind`` (e.g. ``list[JobOut]``), as JSON data."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = pydantic.TypeAdapter(kind)
    try:
        value = adapter.validate_python(body)
    except pydantic.ValidationError as exc:
        raise ProtocolError(f"the server's answer is not a {kind}: {exc}") from exc
    return adapter.dump_python(value, mode="json")


class AstroOps:
    """Client of one jupyter_astro_ops server, acting as the token's user."""

    def __init__(self, url: str | None = None, token: str | None = None,
                 timeout: float = 30.0, runtime_dir: str | None = None) -> None:
        self.server: ServerInfo = find_server(url, token, runtime_dir)
        self.url = self.server.url
        self.api_url = self.url + API
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        if self.server.token:
            self.session.headers["Authorization"] = f"token {self.server.token}"
        self.planner = PlannerClient(self, checked)
        self.ocat = OcatClient(self, checked)  # Ocat sign-off (client/ocat.py)

    def __repr__(self) -> str:
        return f"AstroOps(url={self.url!r}, via {self.server.source})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> AstroOps:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- HTTP ------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith(("http://", "https://")) else self.api_url + path
        kwargs.setdefault("timeout", self.timeout)
        try:
            resp = self.session.request(method, url, **kwargs)
        except requests.ConnectionError as exc:
            raise ConnectionFailed(f"cannot reach the Jupyter server at {self.url}: {exc}",
                                   url=url) from exc
        except requests.Timeout as exc:
            raise ConnectionFailed(f"no answer from {self.url} within {self.timeout} s",
                                   url=url) from exc
        if resp.status_code >= 400:
            err = error_from_response(resp)
            if isinstance(err, PermissionDenied) and not self.server.token:
                err.message += (" (no token was sent: pass AstroOps(token=...) or set "
                                "ASTRO_OPS_TOKEN)")
            raise err
        return resp

    def _get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        resp = self._request("GET", path, params=clean or None)
        return resp.json() if resp.content else None

    def _send_json(self, method: str, path: str, body: dict[str, Any]) -> Any:
        resp = self._request(method, path, json=body)
        return resp.json() if resp.content else None

    def me(self) -> dict[str, Any]:
        """Who the server thinks we are (Jupyter's ``/api/me``)."""
        return dict(self._request("GET", self.url + "api/me").json())

    def files(self, path: str = "") -> list[dict[str, Any]]:
        """Files in the server's working directory (Jupyter's contents API), e.g. what a job
        staged: ``ops.files("data/night1")`` -> ``[{"name", "path", "type", "size"}, ...]``;
        directories are walked."""
        url = self.url + "api/contents/" + quote(path.strip("/"))
        body = self._request("GET", url, params={"content": 0}).json()  # never a file's bytes
        if body.get("type") != "directory":
            return [{k: body.get(k) for k in ("name", "path", "type", "size")}]
        body = self._request("GET", url, params={"content": 1}).json()
        out: list[dict[str, Any]] = []
        for entry in sorted(body.get("content") or [], key=lambda e: e["name"]):
            if entry["type"] == "directory":
                out.extend(self.files(entry["path"]))
            else:
                out.append({k: entry.get(k) for k in ("name", "path", "type", "size")})
        return out

    # -- staging ---------------------------------------------------------------------------
    def stage(self, source: str | dict[str, Any] | tuple[str, str], target: str,
              method: str = "copy") -> Job:
        """Start a staging job from ``"<root>:<path>"`` to ``target`` (relative to the
        server's working directory); returns the ``Job`` at once (call ``job.wait()``)."""
        body = {"source": parse_location(source), "target": target, "method": method}
        return Job(self, checked(JobOut, self._send_json("POST", "staging/jobs", body)))

    def job(self, job_id: str) -> Job:
        """One job by id."""
        return Job(self, self.get_job(job_id))

    def jobs(self, all: bool = False, status: str | list[str] | None = None,
             limit: int | None = None) -> list[Job]:
        """The user's staging jobs, newest first (``all=True``: everyone's, for admins)."""
        query: dict[str, Any] = {"all": "1" if all else None, "limit": limit,
                                 "status": ",".join([status] if isinstance(status, str)
                                                    else status) if status else None}
        return [Job(self, j) for j in checked(list[JobOut],
                                              self._get_json("staging/jobs", query))]

    def get_job(self, job_id: str) -> dict[str, Any]:
        """``GET staging/jobs/<id>`` as JSON data (what ``Job.refresh`` reads)."""
        return dict(checked(JobOut, self._get_json(f"staging/jobs/{quote(job_id)}")))

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        """``DELETE staging/jobs/<id>``: the job as it is after asking it to stop."""
        resp = self._request("DELETE", f"staging/jobs/{quote(job_id)}")
        return dict(checked(JobOut, resp.json()))

    def job_log(self, job_id: str) -> dict[str, Any]:
        """``GET staging/jobs/<id>/log``: ``{"entries": [...], "failed_files": [...]}``."""
        return dict(checked(JobLog, self._get_json(f"staging/jobs/{quote(job_id)}/log")))

    def live_feed(self) -> LiveFeed:
        """A websocket subscription to the activity feed, as this client's user."""
        ws_url = "ws" + self.api_url.removeprefix("http") + "live"
        return LiveFeed(ws_url, self.server.token, connect_timeout=self.timeout)

    def download(self, location: str | dict[str, Any] | tuple[str, str],
                 dest: str | os.PathLike[str] | None = None, chunk_size: int = 1 << 20) -> Path:
        """Stream one file of a root to ``dest`` (default: its name, in the current
        directory) on the machine running this client; returns the path written."""
        loc = parse_location(location)
        target = Path(dest) if dest is not None else Path(PurePosixPath(loc["path"]).name)
        if target.is_dir():
            target = target / PurePosixPath(loc["path"]).name
        resp = self._request("GET", "staging/download", params=loc, stream=True)
        part = target.with_name(target.name + ".part")
        with resp, part.open("wb") as out:
            for chunk in resp.iter_content(chunk_size):
                out.write(chunk)
        part.replace(target)
        return target

    def roots(self) -> list[dict[str, Any]]:
        """The storage roots this user may stage from."""
        return list(checked(list[RootOut], self._get_json("staging/roots")))

    def ls(self, location: str | dict[str, Any] | tuple[str, str] = "") -> list[dict[str, Any]]:
        """Entries of a directory in a root: ``ops.ls("archive:night1/")``."""
        loc = parse_location(location)
        body = self._get_json(f"staging/roots/{quote(loc['root'])}/ls", {"path": loc["path"]})
        return list(checked(LsOut, body)["entries"])

    def methods(self) -> list[str]:
        """The staging methods this user may use."""
        return list(checked(MethodsOut, self._get_json("staging/methods"))["methods"])

    # -- calendar --------------------------------------------------------------------------
    def sites(self) -> list[dict[str, Any]]:
        """Observing sites (code, name, time zone)."""
        return list(checked(list[SiteOut], self._get_json("calendar/sites")))

    def reservations(self, site: str | None = None, start: datetime | str | None = None,
                     end: datetime | str | None = None) -> list[dict[str, Any]]:
        """Reservations overlapping ``[start, end)`` at ``site`` (default: the next 7 days)."""
        if start is None:
            start = datetime.now(timezone.utc)
        if end is None:
            begin = start if isinstance(start, datetime) else datetime.fromisoformat(
                start.replace("Z", "+00:00"))
            end = begin + timedelta(days=7)
        query = {"site": site, "start": _instant(start), "end": _instant(end)}
        return list(checked(list[ReservationOut],
                            self._get_json("calendar/reservations", query)))

    def reservation(self, reservation_id: str) -> dict[str, Any]:
        """One reservation by id."""
        body = self._get_json(f"calendar/reservations/{quote(reservation_id)}")
        return dict(checked(ReservationOut, body))

    def book(self, site: str, start: datetime | str, end: datetime | str,
             type: str = "realtime", title: str | None = None, note: str = "",
             project_id: int | None = None) -> dict[str, Any]:
        """Book ``[start, end)`` at ``site``; a clash raises ``ConflictError`` whose
        ``details`` lists the reservations in the way."""
        body: dict[str, Any] = {"site": site, "start": _instant(start), "end": _instant(end),
                                "type": type, "note": note}
        if title is not None:
            body["title"] = title
        if project_id is not None:
            body["project_id"] = project_id
        return dict(checked(ReservationOut,
                            self._send_json("POST", "calendar/reservations", body)))

    def update_reservation(self, reservation_id: str, **changes: Any) -> dict[str, Any]:
        """PATCH a reservation (pass ``version=`` for optimistic concurrency)."""
        body = {k: (_instant(v) if isinstance(v, datetime) else v) for k, v in changes.items()}
        resp = self._send_json("PATCH", f"calendar/reservations/{quote(reservation_id)}", body)
        return dict(checked(ReservationOut, resp))

    def cancel_reservation(self, reservation_id: str) -> None:
        """Delete a reservation (only its creator or a calendar admin may)."""
        self._request("DELETE", f"calendar/reservations/{quote(reservation_id)}")

    def validate(self, site: str, start: datetime | str, end: datetime | str) -> dict[str, Any]:
        """Would this booking fit? ``{"ok": bool, "conflicts": [...]}``, without booking."""
        body = {"site": site, "start": _instant(start), "end": _instant(end)}
        return dict(checked(ValidateOut, self._send_json("POST", "calendar/validate", body)))
