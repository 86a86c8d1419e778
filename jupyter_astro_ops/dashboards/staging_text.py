"""How the Staging dashboard reads: table rows and columns, jobs and folders in words.

Turns wire models (``JobOut``, ``LsEntry``, ``LsOut``) into what people read: human sizes,
rates and times left, ``archive:night1 → night1`` instead of job ids, what a folder holds
("3 files (6.0 MiB), 1 folder"), a job's log as text lines, and the empty states that say
what to do. Pure functions and constants, no panel: ``staging_view`` lays them out.
"""

from __future__ import annotations

from typing import Any

from ..staging.schemas import JobLogEntry, JobOut, LsEntry, LsOut
from .text import WRAP, human_bytes, human_duration, plural

TIME_FMT = "%d %b %H:%M:%S"
JOB_COLUMNS = ["created", "what", "status", "method", "files", "files_pct", "bytes",
               "bytes_pct", "rate", "eta", "source", "target", "error"]
# in "what"; the error and the files bar in the job's details ("Files" says 3/3)
JOB_HIDDEN = ["source", "target", "error", "files_pct"]
JOB_TITLES = {"created": "Created (UTC)", "what": "What", "status": "Status",
              "method": "Method", "files": "Files", "bytes": "Bytes",
              "bytes_pct": "Progress", "rate": "Rate", "eta": "Time left"}
# wide enough for each title beside its sort arrow at 1400 px ("What" takes the rest)
JOB_WIDTHS = {"created": 150, "status": 105, "method": 100, "files": 85, "bytes": 150,
              "bytes_pct": 115, "rate": 110, "eta": 115}
NO_JOBS = "No jobs yet: pick a folder on the left and press **Start staging**."
EMPTY_DIR = "This folder is empty. Go **Up**, or pick another storage root."
NO_ROOTS = ("No storage root is open to you. Ask an administrator for the *stager* role or "
            "for a root of your group.")
BAR = {"type": "progress", "max": 100, "legend": True, "color": "#2b7bb9"}
# a rate of "1023.4 MiB/s" or bytes of "812.5 MiB / 1.0 GiB" wrap, never cut
JOB_FORMATTERS = {"files_pct": BAR, "bytes_pct": BAR,
                  **{c: WRAP for c in ("what", "status", "files", "bytes", "rate", "eta")}}
LS_COLUMNS = ["name", "type", "size", "path"]

def job_row(job: JobOut) -> dict[str, Any]:
    """One row of the jobs table (two progress columns in percent: files and bytes)."""
    files_pct = 100.0 * job.files_done / job.files_total if job.files_total else (
        100.0 if job.status == "succeeded" else 0.0)
    return {
        "created": job.created.strftime(TIME_FMT), "what": job_title(job, method=False),
        "status": job.status,
        "source": f"{job.source.root}:{job.source.path or '/'}", "target": job.target,
        "method": job.method, "files": f"{job.files_done}/{job.files_total}",
        "files_pct": round(files_pct, 1),
        "bytes": f"{human_bytes(job.bytes_done)} / {human_bytes(job.bytes_total)}",
        "bytes_pct": round(100.0 * job.progress, 1),
        "rate": f"{human_bytes(int(job.rate_bytes_per_s))}/s" if job.rate_bytes_per_s else "",
        "eta": human_duration(job.eta_seconds) if job.status == "running" else "",
        "error": job.error or "",
    }


def job_title(job: JobOut, method: bool = True) -> str:
    """``archive:night1 → night1 (copy)``: a job as people name it (no id)."""
    what = f"{job.source.root}:{job.source.path or '/'} → {job.target or '.'}"
    return f"{what} ({job.method})" if method else what


def dir_summary(out: LsOut) -> str:
    """``3 files, 6.0 MiB; 1 folder``: what a directory holds at its top level."""
    files = [e for e in out.entries if e.type == "file"]
    dirs = sum(1 for e in out.entries if e.type == "directory")
    if not out.entries:
        return "empty"
    parts = []
    if files:
        total = sum(e.size or 0 for e in files)
        parts.append(f"{plural(len(files), 'file')}, {human_bytes(total)}")
    if dirs:
        parts.append(plural(dirs, "folder"))
    return "; ".join(parts)


def listing_row(entry: LsEntry) -> dict[str, Any]:
    """One row of the listing; a folder reads "folder" until selected (then its summary)."""
    folder = entry.type == "directory"
    return {"name": entry.name + ("/" if folder else ""), "type": entry.type,
            "size": "folder" if folder else human_bytes(entry.size), "path": entry.path}


def log_lines(entries: list[JobLogEntry] | list[Any]) -> str:
    """A job's log as plain text lines (``time level message``)."""
    out = []
    for e in entries:
        stamp = str(getattr(e, "time", ""))[:19].replace("T", " ")
        out.append(f"{stamp}  {getattr(e, 'level', 'info')!s:7} {getattr(e, 'message', '')}")
    return "\n".join(out)


def parent(path: str) -> str:
    """The parent of a root-relative path (``""`` is the root)."""
    return path.rsplit("/", 1)[0] if "/" in path else ""


def path_label(path: str) -> str:
    """The directory shown, as Markdown."""
    return f"**/{path}**"
