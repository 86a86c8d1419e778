"""The Staging dashboard: browse a storage root, start staging jobs, follow them live.

``StagingDashboard`` is the Viewer: its state is param Parameters (the root and the directory
shown, the chosen source, target and method, the user's jobs, the selected job and its log, the
create-file form), its widgets are built from them per instance, and it works the same in a
notebook::

    dash = StagingDashboard(source=StagingSource(services.staging, user)); dash.load(); dash

Under ``panel serve`` ``follow(hub)`` subscribes to the user's ``STAGING_JOB`` events of the
activity feed: each event updates that job's row (progress bars for files and bytes) and, for
the selected job, the log viewer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import panel as pn
import param

from ..activity.schemas import EventFilter, EventOut
from ..core.identity import User
from ..staging.schemas import CreateFileOut, JobLog, JobOut, LsOut, RootOut
from ..staging.service import OBJECT_TYPE
from .staging_source import (
    FINAL,
    JOB_METHODS,
    StagingSource,
    job_row,
    listing_row,
    log_lines,
    parent,
    path_label,
)
from .tasks import DOMAIN_ERRORS, follow_while_open, run_blocking, served

JOB_COLUMNS = ["created", "status", "source", "target", "method", "files", "files_pct",
               "bytes", "bytes_pct", "rate", "error"]
JOB_TITLES = {"created": "Created (UTC)", "status": "Status", "source": "Source",
              "target": "Target", "method": "Method", "files": "Files",
              "files_pct": "Files %", "bytes": "Bytes", "bytes_pct": "Bytes %", "rate": "Rate",
              "error": "Error"}
BAR = {"type": "progress", "max": 100, "legend": True, "color": "#2b7bb9"}
LS_COLUMNS = ["name", "type", "size", "path"]
SIDE_WIDTH = 340


class StagingDashboard(pn.viewable.Viewer):
    """Pick data in a storage root, stage it into your working directory, watch the jobs."""

    root: param.Selector = param.Selector(default=None, objects=[], allow_None=True,
                                          label="Storage root")
    path = param.String(default="", doc="Directory shown (relative to the root).")
    listing = param.DataFrame(default=pd.DataFrame(columns=LS_COLUMNS), doc="Its entries.")
    source_path = param.String(default="", label="Source (in the root)")
    target = param.String(default="", label="Target (in your working directory)")
    method: param.Selector = param.Selector(default="copy", objects=list(JOB_METHODS),
                                            label="Method")
    jobs = param.DataFrame(default=pd.DataFrame(columns=JOB_COLUMNS), doc="Your jobs.")
    selected_job = param.String(default=None, allow_None=True)
    log_text = param.String(default="", doc="The selected job's log.")
    new_file = param.String(default="", label="New file (path in the root)")
    new_content = param.String(default="", label="Content")
    notice = param.String(default="", doc="Outcome of the last action.")

    def __init__(self, source: StagingSource, **params: Any) -> None:
        super().__init__(**params)
        self.source_api = source  # ``source_path`` is the param: what to stage
        self.roots: dict[str, RootOut] = {}
        self.job_map: dict[str, JobOut] = {}
        self._stale: set[str] = set()
        self._build_widgets()

    # -- data ------------------------------------------------------------------------------------
    def fetch(self) -> tuple[list[RootOut], list[JobOut]]:
        """The user's roots and jobs (blocking; touches no state)."""
        return self.source_api.roots(), self.source_api.jobs()

    def set_data(self, roots: list[RootOut], jobs: list[JobOut]) -> None:
        self.roots = {r.name: r for r in roots}
        self.param.root.objects = list(self.roots)
        self.set_jobs(jobs)
        if self.root not in self.roots:
            self.root = next(iter(self.roots), None)  # -> _root_changed lists it
        else:
            self.browse(self.path)

    def load(self) -> None:
        """Fetch and show (blocking; for notebooks and tests)."""
        self.set_data(*self.fetch())

    def set_jobs(self, jobs: list[JobOut]) -> None:
        self.job_map = {j.id: j for j in jobs}
        self._rejob()

    def apply_jobs(self, jobs: list[JobOut]) -> None:
        """Merge fresh states of some jobs (from the feed or an action)."""
        for job in jobs:
            self.job_map[job.id] = job
        self._rejob()

    def _rejob(self) -> None:
        rows = sorted(self.job_map.values(), key=lambda j: j.created, reverse=True)
        self.jobs = pd.DataFrame([job_row(j) for j in rows], columns=JOB_COLUMNS,
                                 index=pd.Index([j.id for j in rows], name="id"))
        self._update_buttons()

    # -- browsing ----------------------------------------------------------------------------------
    @param.depends("root", watch=True)
    def _root_changed(self) -> None:
        root = self.roots.get(self.root or "")
        methods = [m for m in JOB_METHODS if root and m in root.methods] or ["copy"]
        self.param.method.objects = methods
        if self.method not in methods:
            self.method = methods[0]
        self._create_box.visible = bool(root and root.writable)
        self.browse("")

    def browse(self, path: str) -> None:
        """List ``path`` of the current root (the service confines it)."""
        if not self.root:
            return
        run_blocking(partial(self.source_api.ls, self.root, path), self._listed, self._refused)

    def _listed(self, out: LsOut) -> None:
        self.path = out.path
        self.listing = pd.DataFrame([listing_row(e) for e in out.entries], columns=LS_COLUMNS)
        self._ls_table.selection = []  # a row index of the previous directory means nothing
        self.source_path = out.path

    def open_selected(self) -> None:
        """Enter the selected directory."""
        row = self._listing_row()
        if row is not None and row["type"] == "directory":
            self.browse(row["path"])

    def up(self) -> None:
        self.browse(parent(self.path))

    def _listing_row(self) -> dict[str, Any] | None:
        rows = self._ls_table.selection
        if not rows or rows[0] >= len(self.listing):
            return None
        return dict(self.listing.iloc[rows[0]])

    def _on_listing_selection(self, _event: Any) -> None:
        row = self._listing_row()
        self.source_path = row["path"] if row is not None else self.path

    # -- actions -----------------------------------------------------------------------------------
    def start_job(self) -> None:
        """Stage ``source`` of the current root into ``target`` with ``method``."""
        if not self.root:
            self.notice = "Choose a storage root first."
            return
        work = partial(self.source_api.start, self.root, self.source_path, self.target.strip(),
                       self.method)
        run_blocking(work, self._started, self._refused)

    def _started(self, job: JobOut) -> None:
        self.notice = (f"Queued job {job.id[:8]}: {job.source.root}:{job.source.path or '/'} "
                       f"-> {job.target or '.'}")
        self.apply_jobs([job])
        self.selected_job = job.id

    def cancel_job(self) -> None:
        if not self.selected_job:
            return
        run_blocking(partial(self.source_api.cancel, self.selected_job),
                     lambda job: self.apply_jobs([job]), self._refused)

    def create_file(self) -> None:
        """Write ``new_content`` to ``new_file`` in the current (writable) root."""
        if not self.root:
            return
        work = partial(self.source_api.create_file, self.root, self.new_file.strip(),
                       self.new_content)
        run_blocking(work, self._file_created, self._refused)

    def _file_created(self, out: CreateFileOut) -> None:
        self.notice = f"Wrote {out.size} bytes to {out.root}:{out.path}"
        self.new_content = ""
        self.browse(self.path)

    def _refused(self, exc: Exception) -> None:
        self.notice = f"Refused: {exc}"

    @param.depends("selected_job", watch=True)
    def _job_selected(self) -> None:
        self._update_buttons()
        if not self.selected_job:
            self.log_text = ""
            return
        run_blocking(partial(self.source_api.log, self.selected_job), self._show_log,
                     self._refused)

    def _show_log(self, job_log: JobLog) -> None:
        if job_log.job_id == self.selected_job:
            failed = "".join(f"\nFAILED {f.path}: {f.error}" for f in job_log.failed_files)
            self.log_text = log_lines(job_log.entries) + failed

    # -- live feed ---------------------------------------------------------------------------------
    async def follow(self, hub: Any) -> None:
        """Refresh jobs named by the user's ``STAGING_JOB`` events, until cancelled."""
        doc = pn.state.curdoc if served() else None
        user: User = self.source_api.user
        subscription = hub.subscribe(user, EventFilter(object_type=[OBJECT_TYPE]))
        refreshing: asyncio.Future[None] | None = None
        try:
            async for ev in subscription:
                self._push(doc, partial(self._event_log, ev))
                if ev.object.id:
                    self._stale.add(ev.object.id)
                if refreshing is None or refreshing.done():
                    refreshing = asyncio.ensure_future(self._refresh(doc))
        finally:
            subscription.close()
            if refreshing is not None:
                refreshing.cancel()

    async def _refresh(self, doc: Any) -> None:
        """Re-read the jobs the feed named (a burst of progress events costs one read each)."""
        while self._stale:
            ids, self._stale = self._stale, set()
            jobs = await asyncio.to_thread(self._read_jobs, ids)
            self._push(doc, partial(self.apply_jobs, jobs))

    def _read_jobs(self, ids: set[str]) -> list[JobOut]:
        out = []
        for job_id in ids:
            try:
                out.append(self.source_api.job(job_id))
            except DOMAIN_ERRORS:  # gone, or not this user's: nothing to show
                continue
        return [j for j in out if j.username == self.source_api.user.username]

    def _event_log(self, ev: EventOut) -> None:
        if ev.object.id and ev.object.id == self.selected_job:
            self.log_text = log_lines(ev.log)

    @staticmethod
    def _push(doc: Any, callback: Callable[[], None]) -> None:
        if doc is not None:
            doc.add_next_tick_callback(callback)
        else:
            callback()

    # -- views -------------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self._ls_table = pn.widgets.Tabulator.from_param(
            self.param.listing, show_index=False, selectable=1, disabled=True,
            hidden_columns=["path", "type"], titles={"name": "Name", "size": "Size"},
            height=300, sizing_mode="stretch_width",
            layout="fit_data_stretch", name="listing")
        self._ls_table.param.watch(self._on_listing_selection, "selection")
        self._jobs_table = pn.widgets.Tabulator.from_param(
            self.param.jobs, show_index=False, selectable=1, disabled=True,
            titles=JOB_TITLES, formatters={"files_pct": BAR, "bytes_pct": BAR},
            pagination="local", page_size=10, sizing_mode="stretch_width",
            layout="fit_data_stretch", name="jobs")
        self._jobs_table.param.watch(self._on_job_selection, "selection")
        self._buttons: dict[str, pn.widgets.Button] = {}
        for label, action, color in (("Open", self.open_selected, "default"),
                                     ("Up", self.up, "default"),
                                     ("Start staging", self.start_job, "primary"),
                                     ("Cancel job", self.cancel_job, "danger"),
                                     ("Create file", self.create_file, "default")):
            button = pn.widgets.Button(label=label, color=color)
            button.on_click(partial(self._clicked, action))
            self._buttons[label] = button
        self._create_box = pn.Column(
            "#### Create a file", pn.widgets.TextInput.from_param(self.param.new_file),
            pn.widgets.TextAreaInput.from_param(self.param.new_content, height=80),
            self._buttons["Create file"], visible=False, width=SIDE_WIDTH)
        self._log = pn.widgets.TextAreaInput.from_param(
            self.param.log_text, disabled=True, height=200, sizing_mode="stretch_width",
            name="Log of the selected job")

    @staticmethod
    def _clicked(action: Callable[[], None], _event: Any) -> None:
        action()

    def _on_job_selection(self, event: param.parameterized.Event) -> None:
        rows = event.new or []
        if rows and rows[0] < len(self.jobs):
            self.selected_job = str(self.jobs.index[rows[0]])

    def _update_buttons(self) -> None:
        job = self.job_map.get(self.selected_job or "")
        self._buttons["Cancel job"].disabled = job is None or job.status in FINAL

    @param.depends("notice", "selected_job", "jobs")
    def _side(self) -> pn.viewable.Viewable:
        parts: list[Any] = []
        if self.notice:
            kind = "danger" if self.notice.startswith("Refused") else "info"
            parts.append(pn.pane.Alert(self.notice, alert_type=kind))
        job = self.job_map.get(self.selected_job or "")
        if job is not None:
            parts += [
                pn.pane.Markdown(f"**Job** `{job.id[:8]}` · **{job.status}**  \n"
                                 f"{job.source.root}:{job.source.path or '/'} → "
                                 f"{job.target or '.'}"),
                pn.pane.Markdown(f"Files {job.files_done}/{job.files_total}", margin=(0, 10)),
                pn.indicators.Progress(value=int(job_row(job)["files_pct"]), max=100,
                                       width=SIDE_WIDTH - 20, name="files"),
                pn.pane.Markdown(f"Bytes {job_row(job)['bytes']}", margin=(0, 10)),
                pn.indicators.Progress(value=int(100 * job.progress), max=100,
                                       width=SIDE_WIDTH - 20, name="bytes"),
            ]
        return pn.Column(*parts, width=SIDE_WIDTH)

    def __panel__(self) -> pn.viewable.Viewable:
        b = self._buttons
        browser = pn.Column(
            pn.Row(pn.widgets.Select.from_param(self.param.root, width=200),
                   pn.bind(path_label, self.param.path)),
            pn.Row(b["Up"], b["Open"]), self._ls_table, sizing_mode="stretch_width")
        form = pn.Column(
            "#### Stage", pn.widgets.TextInput.from_param(self.param.source_path),
            pn.widgets.TextInput.from_param(self.param.target, placeholder="(default: same name)"),
            pn.widgets.RadioButtonGroup.from_param(self.param.method),
            b["Start staging"], self._create_box, width=SIDE_WIDTH)
        jobs = pn.Column("#### Your jobs", self._jobs_table, pn.Row(b["Cancel job"]),
                         self._log, sizing_mode="stretch_width")
        return pn.Column(pn.Row(browser, form, self._side, sizing_mode="stretch_width"), jobs,
                         sizing_mode="stretch_width")


def build(ctx: Any, user: User) -> StagingDashboard:
    """Page builder for ``panel serve``: load in a thread, then follow the live feed."""
    dash = StagingDashboard(source=StagingSource(ctx.services.staging, user))
    doc = pn.state.curdoc
    assert doc is not None, "build() runs in a served session"

    async def start() -> None:
        feed = await ctx.feed()  # standalone, this also starts the staging runner
        doc.add_next_tick_callback(partial(dash.set_data, *await asyncio.to_thread(dash.fetch)))
        follow_while_open(dash.follow(feed))

    pn.state.execute(start)
    return dash
