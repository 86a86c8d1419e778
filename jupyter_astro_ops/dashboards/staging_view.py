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
import panel_material_ui as pmui
import param

from ..activity.schemas import EventFilter, EventOut
from ..core.identity import User
from ..staging.schemas import CreateFileOut, JobLog, JobOut, LsOut, RootOut
from ..staging.service import OBJECT_TYPE
from .staging_source import FINAL, JOB_METHODS, StagingSource
from .staging_text import (
    EMPTY_DIR,
    JOB_COLUMNS,
    JOB_FORMATTERS,
    JOB_HIDDEN,
    JOB_TITLES,
    JOB_WIDTHS,
    LS_COLUMNS,
    NO_JOBS,
    NO_ROOTS,
    dir_summary,
    job_row,
    job_title,
    listing_row,
    log_lines,
    parent,
    path_label,
)
from .tasks import DOMAIN_ERRORS, first_load, follow_while_open, run_blocking, served, with_document
from .text import escape_md
from .widgets import Notice, TableOrEmpty, alert, empty_state

SIDE_WIDTH = 340


class StagingDashboard(Notice, pn.viewable.Viewer):
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
    picked = param.String(default="", doc="What Start staging takes (the row, or the folder).")

    def __init__(self, source: StagingSource, **params: Any) -> None:
        super().__init__(**params)
        self.source_api = source  # ``source_path`` is the param: what to stage
        self.roots: dict[str, RootOut] = {}
        self.job_map: dict[str, JobOut] = {}
        self._stale: set[str] = set()
        self._notice_job: str | None = None  # the job the notice talks about
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
            old = self.job_map.get(job.id)
            self.job_map[job.id] = job
            if job.id == self._notice_job and old is not None and old.status != job.status:
                self._notice_job = None
                self.clear_notice()  # "Queued ..." is stale: the row shows the status now
        self._rejob()

    def _rejob(self) -> None:
        rows = sorted(self.job_map.values(), key=lambda j: j.created, reverse=True)
        self.jobs = pd.DataFrame([job_row(j) for j in rows], columns=JOB_COLUMNS,
                                 index=pd.Index([j.id for j in rows], name="id"))
        self._jobs_view.show(bool(rows))
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
        self.clear_notice()  # a refusal about the previous root means nothing here
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
        self._ls_view.show(bool(out.entries))
        self.source_path = out.path
        where = f"this folder, /{out.path}" if out.path else f"all of {self.root}"  # no row
        self.picked = f"{where} ({dir_summary(out)})"

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
        if row is not None and row["type"] == "directory" and self.root:
            self.picked = f"{row['name']} (counting...)"
            run_blocking(partial(self.source_api.ls, self.root, row["path"]), self._counted,
                         self._refused)
        elif row is not None:
            self.picked = f"{row['name']} ({row['size']})"

    def _counted(self, out: LsOut) -> None:
        if out.path == self.source_path:  # still the selected folder
            self.picked = f"{out.path.rsplit('/', 1)[-1]}/ ({dir_summary(out)})"

    # -- actions -----------------------------------------------------------------------------------
    def start_job(self) -> None:
        """Stage ``source`` of the current root into ``target`` with ``method``."""
        if not self.root:
            self.say("Choose a storage root first.", "warning")
            return
        work = partial(self.source_api.start, self.root, self.source_path, self.target.strip(),
                       self.method)
        run_blocking(work, self._started, self._refused)

    def _started(self, job: JobOut) -> None:
        self.say(f"Queued {escape_md(job_title(job))}; its row below follows it live.",
                 "success")
        self._notice_job = job.id
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
        self.say(f"Wrote {out.size} bytes to {escape_md(out.root)}:{escape_md(out.path)}.",
                 "success")
        self.new_content = ""
        self.browse(self.path)

    def _refused(self, exc: Exception) -> None:
        self.refused(exc)

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
    async def follow(self, hub: Any, since: int | None = None) -> None:
        """Refresh jobs named by the user's ``STAGING_JOB`` events, until cancelled."""
        doc = pn.state.curdoc if served() else None
        user: User = self.source_api.user
        subscription = hub.subscribe(user, EventFilter(object_type=[OBJECT_TYPE]), since)
        refreshing: asyncio.Future[None] | None = None
        try:
            async for ev in subscription:
                with_document(doc, partial(self._event_log, ev))
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
            with_document(doc, partial(self.apply_jobs, jobs))

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

    # -- views -------------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self._ls_table = pn.widgets.Tabulator.from_param(
            self.param.listing, show_index=False, selectable=1, disabled=True,
            hidden_columns=["path", "type"], titles={"name": "Name", "size": "Size"},
            height=300, sizing_mode="stretch_width", layout="fit_columns",
            widths={"size": 110}, name="listing")
        self._ls_table.param.watch(self._on_listing_selection, "selection")
        self._ls_view = TableOrEmpty(self._ls_table,
                                     empty_state(EMPTY_DIR, name="empty-folder"))
        self._jobs_table = pn.widgets.Tabulator.from_param(
            self.param.jobs, show_index=False, selectable=1, disabled=True,
            titles=JOB_TITLES, hidden_columns=JOB_HIDDEN,
            formatters=JOB_FORMATTERS,
            pagination="local", page_size=10, sizing_mode="stretch_width",
            layout="fit_columns", widths=JOB_WIDTHS, name="jobs")
        self._jobs_table.param.watch(self._on_job_selection, "selection")
        self._jobs_view = TableOrEmpty(self._jobs_table, empty_state(NO_JOBS, name="no-jobs"))
        self._buttons: dict[str, pmui.Button] = {}
        for label, action, color, variant in (
                ("Open", self.open_selected, "primary", "outlined"),
                ("Up", self.up, "primary", "outlined"),
                ("Start staging", self.start_job, "primary", "contained"),
                ("Cancel job", self.cancel_job, "error", "outlined"),
                ("Create file", self.create_file, "primary", "outlined")):
            button = pmui.Button(label=label, color=color, variant=variant)
            button.on_click(partial(self._clicked, action))
            self._buttons[label] = button
        self._create_box = pmui.Column(
            pmui.Typography("Create a file", variant="subtitle1"),
            pmui.TextInput.from_param(self.param.new_file, width=SIDE_WIDTH - 20),
            pmui.TextAreaInput.from_param(self.param.new_content, rows=3,
                                          width=SIDE_WIDTH - 20),
            self._buttons["Create file"], visible=False, width=SIDE_WIDTH)

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

    @param.depends("root")
    def _root_text(self) -> pn.viewable.Viewable:
        root = self.roots.get(self.root or "")
        if not self.roots:
            return alert(NO_ROOTS, "info", name="no-roots")
        text = escape_md(root.description) if root and root.description else ""
        if root is not None:
            mode = "writable" if root.writable else "read-only"
            text = f"{text} ({root.protocol}, {mode})" if text else f"{root.protocol}, {mode}"
        return pmui.Typography(text, variant="body2", name="root-description", margin=(0, 10))

    @param.depends("notice", "notice_kind", "selected_job", "jobs", "picked")
    def _side(self) -> pn.viewable.Viewable:
        parts: list[Any] = []
        if self.picked:
            parts.append(pmui.Typography(f"To stage: {escape_md(self.picked)}",
                                         variant="body2", name="picked", margin=(0, 10)))
        if self.notice:
            parts.append(alert(self.notice, self.notice_kind))
        job = self.job_map.get(self.selected_job or "")
        if job is not None:
            parts += job_progress(job)
        return pmui.Column(*parts, width=SIDE_WIDTH)

    @param.depends("log_text", "selected_job")
    def _log_view(self) -> pn.viewable.Viewable:
        if not self.selected_job:
            return pmui.Typography("Select a job to read its log.", variant="body2",
                                   margin=(5, 10))
        text = (self.log_text or "(no log lines yet)").replace("```", "'''")
        return pn.pane.Markdown(f"```text\n{text}\n```", name="job-log",
                                sizing_mode="stretch_width", max_height=260,
                                styles={"overflow-y": "auto"})

    def __panel__(self) -> pn.viewable.Viewable:
        b = self._buttons
        browser = pmui.Column(
            pmui.Row(pmui.Select.from_param(self.param.root, width=220),
                     pn.bind(path_label, self.param.path)),
            self._root_text, pmui.Row(b["Up"], b["Open"]), self._ls_view.box,
            sizing_mode="stretch_width")
        form = pmui.Column(
            pmui.Typography("Stage into your working directory", variant="subtitle1"),
            pmui.TextInput.from_param(self.param.source_path, width=SIDE_WIDTH - 20,
                                      placeholder="(empty: the whole root)"),
            pmui.TextInput.from_param(self.param.target, placeholder="(default: same name)",
                                      width=SIDE_WIDTH - 20),
            pmui.RadioButtonGroup.from_param(self.param.method),
            b["Start staging"], self._create_box, width=SIDE_WIDTH)
        jobs = pmui.Column(pmui.Typography("Your jobs", variant="h6"), self._jobs_view.box,
                           pmui.Row(b["Cancel job"]), self._log_view,
                           sizing_mode="stretch_width")
        return pmui.Column(pmui.Row(browser, form, self._side, sizing_mode="stretch_width"),
                           jobs, sizing_mode="stretch_width")


def job_progress(job: JobOut) -> list[Any]:
    """The selected job's progress: what, status, files and bytes bars, rate and time left."""
    row = job_row(job)
    rate = f" · {row['rate']}" if row["rate"] else ""
    eta = f" · {row['eta']} left" if row["eta"] else ""
    return [
        pmui.Typography(f"**{escape_md(job_title(job))}** · {job.status}", variant="body2",
                        margin=(5, 10)),
        pmui.Typography(f"Files {row['files']}", variant="caption", margin=(0, 10)),
        pmui.LinearProgress(value=int(row["files_pct"]), variant="determinate",
                            width=SIDE_WIDTH - 20, name="files"),
        pmui.Typography(f"Bytes {row['bytes']}{rate}{eta}", variant="caption", margin=(0, 10)),
        pmui.LinearProgress(value=int(100 * job.progress), variant="determinate",
                            width=SIDE_WIDTH - 20, name="bytes"),
        *([alert(f"Failed: {escape_md(job.error)}", "error")] if job.error else []),
    ]


async def build(ctx: Any, user: User) -> StagingDashboard:
    """Page builder for ``panel serve``: load in a thread before showing, then follow the feed."""
    dash = StagingDashboard(source=StagingSource(ctx.services.staging, user))
    feed, since = await ctx.feed_from_now()  # standalone, this also starts the staging runner
    if await first_load(dash.fetch, lambda data: dash.set_data(*data), dash.say,
                        "the staging roots and jobs"):
        follow_while_open(dash.follow(feed, since))
    return dash
