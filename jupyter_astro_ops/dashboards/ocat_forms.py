"""The Ocat dashboard's forms: submission with live warnings, express approval, the POC rota.

Three Viewers used as tabs by ``ocat_view.OcatDashboard``; each keeps its state in param
Parameters, builds its widgets from them and talks to the service through ``OcatSource``:

* ``SubmitView``: pick an observation and a kind, add parameter changes one by one; every
  change of the form runs a dry run, so the warnings and the sign-offs the revision would need
  show up before submitting;
* ``ExpressView``: paste an obsid list, check it (a verdict per obsid), then confirm to
  approve what is approvable; the confirm button works only for the list that was checked;
* ``RotaView``: the duty periods with who is on duty now; sign up for a free period or unlock
  your own.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
import panel as pn
import panel_material_ui as pmui
import param

from ..ocat.schemas import CatalogOut, ExpressOut, RotaPeriodOut, SubmitIn, SubmitOut
from .ocat_source import OcatSource, cell, esc, rota_frame, verdict_frame
from .tasks import run_blocking
from .widgets import alert

KINDS = {"Change parameters (norm)": "norm", "Approve as is (asis)": "asis",
         "Remove approval (remove)": "remove", "Split the observation (clone)": "clone"}
FORM_WIDTH = 360


class _Form(pn.viewable.Viewer):
    notice = param.String(default="")
    notice_kind = param.String(default="info")

    def tell(self, message: str, kind: str = "info") -> None:
        self.notice, self.notice_kind = message, kind

    def background(self, work: Callable[[], Any], done: Callable[[Any], None]) -> None:
        run_blocking(work, done, lambda exc: self.tell(f"Refused: {exc}", "error"))

    @param.depends("notice", "notice_kind")
    def _notice(self) -> pn.viewable.Viewable:
        if not self.notice:
            return pn.Spacer(height=0)
        return alert(esc(self.notice), self.notice_kind)


class SubmitView(_Form):
    """One observation's revision, with live warnings."""

    obsid = param.Integer(default=None, allow_None=True, bounds=(1, 9_999_999), label="Obsid")
    kind: param.Selector = param.Selector(default="Change parameters (norm)",
                                          objects=list(KINDS), label="Kind")
    parameter: param.Selector = param.Selector(default=None, objects=[], allow_None=True,
                                               label="Parameter")
    value = param.String(default="", label="New value (empty: clear it)")
    changes = param.Dict(default={}, doc="Parameter -> requested value.")
    comment = param.String(default="", label="Comment")
    preview = param.String(default="", doc="Markdown of the last dry run.")
    observation = param.String(default="", doc="Markdown: the observation the form is for.")

    def __init__(self, source: OcatSource, catalog: CatalogOut,
                 on_done: Callable[[], None] | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.source, self.on_done = source, on_done or (lambda: None)
        self.params = {p.name: p for p in catalog.parameters if p.modifiable}
        self.param.parameter.objects = sorted(self.params)
        self.parameter = "roll_obsr" if "roll_obsr" in self.params else next(
            iter(sorted(self.params)), None)
        self.current: dict[str, Any] = {}
        self._checks = 0
        self._add = pmui.Button(label="Add change", color="primary", variant="outlined")
        self._add.on_click(lambda _e: self.add_change())
        self._clear = pmui.Button(label="Clear changes", color="primary", variant="outlined")
        self._clear.on_click(lambda _e: self.clear_changes())
        self._submit = pmui.Button(label="Submit revision", color="primary",
                                         disabled=not source.may_submit())
        self._submit.on_click(lambda _e: self.submit())

    def spec(self, dry_run: bool) -> SubmitIn | None:
        if self.obsid is None:
            return None
        kind = KINDS[self.kind]
        return SubmitIn(obsid=self.obsid, kind=kind,  # type: ignore[arg-type]
                        changes=self.changes if kind == "norm" else {},
                        comment=self.comment, dry_run=dry_run)

    def clear_changes(self) -> None:
        self.changes = {}

    def add_change(self) -> None:
        if not self.parameter:
            self.tell("Pick a parameter first.", "warning")
            return
        text = self.value.strip()
        self.changes = {**self.changes, self.parameter: text or None}
        self.value = ""

    @param.depends("obsid", watch=True)
    def _load_observation(self) -> None:
        if self.obsid is None:
            return
        self.background(partial(self.source.observation, self.obsid), self._observed)

    def _observed(self, obs: Any) -> None:
        self.current = dict(obs.values)
        approved = "approved" if obs.approved else "not approved"
        self.observation = (f"**{obs.obsid} · {esc(obs.target_name)}** ({esc(obs.instrument)}, "
                            f"{esc(obs.obs_type)}) · {esc(obs.status)} · POC "
                            f"{esc(obs.poc or '-')} · {approved}")
        self.param.trigger("changes")

    @param.depends("obsid", "kind", "changes", "comment", watch=True)
    def check(self) -> None:
        """Dry run: the warnings and needed sign-offs of what the form holds now."""
        self._checks += 1
        token = self._checks
        try:
            spec = self.spec(dry_run=True)
        except Exception as exc:  # pydantic: a malformed form
            self.preview = f"Cannot check: {esc(exc)}"
            return
        if spec is None:
            self.preview = "Enter an obsid to start."
            return
        run_blocking(partial(self.source.submit, spec), partial(self._checked, token),
                     lambda exc: self._refused(token, exc))

    def _checked(self, token: int, out: SubmitOut) -> None:
        if token != self._checks:
            return
        needs = ", ".join(k for k, v in out.needs.items() if v == "pending") or "none"
        lines = [f"**Sign-offs needed:** {needs}",
                 f"**Flags:** {', '.join(out.flags) or 'none'}"]
        if out.superseded:
            lines.append(f"**Supersedes:** {', '.join(out.superseded)}")
        lines += [f"- ⚠ {esc(w.message)}" for w in out.warnings] or ["No warnings."]
        self.preview = "\n\n".join(lines[:3]) + "\n\n" + "\n".join(lines[3:])

    def _refused(self, token: int, exc: Exception) -> None:
        if token == self._checks:
            self.preview = f"Cannot submit: {esc(exc)}"

    def submit(self) -> None:
        spec = self.spec(dry_run=False)
        if spec is None:
            self.tell("Enter an obsid first.", "warning")
            return
        self.background(partial(self.source.submit, spec), self._submitted)

    def _submitted(self, out: SubmitOut) -> None:
        assert out.revision is not None
        warned = f" with {len(out.warnings)} warning(s)" if out.warnings else ""
        self.tell(f"Submitted {out.revision.label}{warned}.", "success")
        self.param.update(changes={}, comment="")
        self.on_done()

    @param.depends("changes", "parameter")
    def _changes(self) -> pn.viewable.Viewable:
        rows = [{"Parameter": k, "Current": cell(self.current.get(k)),
                 "Requested": cell(v) if v is not None else "(clear)"}
                for k, v in self.changes.items()]
        hint = ""
        if self.parameter in self.params:
            p = self.params[self.parameter]
            limits = f" {p.min:g}..{p.max:g}" if p.min is not None and p.max is not None else ""
            allowed = f" one of {', '.join(p.allowed)}" if p.allowed else ""
            hint = (f"*{esc(p.description)}* ({p.group}{limits}{allowed}"
                    f"{' ' + p.unit if p.unit else ''}); now: "
                    f"{esc(cell(self.current.get(p.name))) or 'not set'}")
        table = pn.widgets.Tabulator(pd.DataFrame(rows, columns=["Parameter", "Current",
                                                                 "Requested"]),
                                     show_index=False, disabled=True, selectable=False,
                                     name="ocat-changes",
                                     sizing_mode="stretch_width") if rows else \
            pn.pane.Markdown("*No changes yet: pick a parameter, type a value, Add change.*")
        return pn.Column(pn.pane.Markdown(hint), table, sizing_mode="stretch_width")

    @param.depends("preview", "observation")
    def _preview(self) -> pn.viewable.Viewable:
        head = self.observation + "\n\n" if self.observation and self.obsid else ""
        return pn.pane.Markdown(head + (self.preview or "Enter an obsid to start."))

    def __panel__(self) -> pn.viewable.Viewable:
        w = FORM_WIDTH
        form = pn.Column(
            pmui.IntInput.from_param(self.param.obsid, width=w),
            pmui.Select.from_param(self.param.kind, width=w),
            pmui.Select.from_param(self.param.parameter, width=w),
            pmui.TextInput.from_param(self.param.value, width=w),
            pn.Row(self._add, self._clear),
            pmui.TextAreaInput.from_param(self.param.comment, rows=3, width=w),
            self._submit, self._notice, width=w + 20)
        return pn.Row(form, pn.Column("#### Changes", self._changes, "#### Check",
                                      self._preview, sizing_mode="stretch_width"))


class ExpressView(_Form):
    """Express approval of an obsid list: check, then confirm."""

    obsids = param.String(default="", label="Obsids, e.g. 20001-20010, 20015; 20020")
    frame = param.DataFrame(default=pd.DataFrame(columns=["Obsid", "Verdict", "Detail",
                                                          "Revision"]))
    checked = param.String(default=None, allow_None=True, doc="The list the verdicts are for.")

    def __init__(self, source: OcatSource, on_done: Callable[[], None] | None = None,
                 **params: Any) -> None:
        super().__init__(**params)
        self.source, self.on_done = source, on_done or (lambda: None)
        self._check = pmui.Button(label="Check", color="primary")
        self._check.on_click(lambda _e: self.run(dry_run=True))
        self._confirm = pmui.Button(label="Approve the approvable", color="success",
                                          disabled=True)
        self._confirm.on_click(lambda _e: self.run(dry_run=False))

    def run(self, dry_run: bool) -> None:
        text = self.obsids
        if not dry_run and text != self.checked:
            self.tell("Check this list first.", "warning")
            return
        self.background(partial(self.source.express, text, dry_run),
                        partial(self._answered, text))

    def _answered(self, text: str, out: ExpressOut) -> None:
        self.frame = verdict_frame(out)
        if out.dry_run:
            self.checked = text
            n = sum(i.verdict in ("approvable", "warning: opened by another POC")
                    for i in out.items)
            self._confirm.label = f"Approve {n} observation(s)"
            self._confirm.disabled = n == 0
            self.tell(f"{n} of {len(out.items)} can be approved. Confirm to approve them.")
            return
        self.checked, self._confirm.disabled = None, True
        skipped = "; ".join(f"{k}: {len(v)}" for k, v in out.skipped.items()) or "none"
        self.tell(f"Approved {len(out.approved)}. Skipped: {skipped}.", "success")
        self.on_done()

    @param.depends("obsids", watch=True)
    def _edited(self) -> None:
        if self.obsids != self.checked:
            self._confirm.disabled = True

    @param.depends("frame")
    def _empty(self) -> pn.viewable.Viewable:
        if not self.frame.empty:
            return pn.Spacer(height=0)
        return pn.pane.Markdown("Paste obsids (ranges like 20001-20010; commas, semicolons, "
                                "colons or spaces between them) and press **Check**: you get "
                                "a verdict per obsid and nothing is approved until you "
                                "confirm.")

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pmui.TextAreaInput.from_param(self.param.obsids, rows=3,
                                                sizing_mode="stretch_width"),
            pn.Row(self._check, self._confirm), self._notice, self._empty,
            pn.widgets.Tabulator.from_param(self.param.frame, show_index=False, disabled=True,
                                            pagination="local", page_size=25,
                                            name="ocat-verdicts", sizing_mode="stretch_width"),
            sizing_mode="stretch_width")


class RotaView(_Form):
    """The POC duty rota: sign up for a free period, unlock your own."""

    frame = param.DataFrame(default=pd.DataFrame(columns=["From", "To", "Days", "POC", "Now"]))
    selected = param.Integer(default=None, allow_None=True)

    def __init__(self, source: OcatSource, **params: Any) -> None:
        super().__init__(**params)
        self.source = source
        self.periods: dict[int, RotaPeriodOut] = {}
        self._signup = pmui.Button(label="Sign up", color="primary", disabled=True)
        self._signup.on_click(lambda _e: self.act("signup"))
        self._unlock = pmui.Button(label="Unlock", color="primary", variant="outlined",
                                   disabled=True)
        self._unlock.on_click(lambda _e: self.act("unlock"))
        self._table = pn.widgets.Tabulator.from_param(
            self.param.frame, show_index=False, selectable=1, disabled=True,
            pagination="local", page_size=12, name="ocat-rota", sizing_mode="stretch_width")
        self._table.param.watch(self._on_selection, "selection")

    def load(self) -> None:
        self.set_periods(self.source.rota())

    def set_periods(self, periods: list[RotaPeriodOut]) -> None:
        self.periods = {p.id: p for p in periods}
        self.frame = rota_frame(periods, self.source.today())
        self._buttons()

    def _on_selection(self, event: param.parameterized.Event) -> None:
        picked = event.new or []
        if picked and picked[0] < len(self.frame):
            self.selected = int(self.frame.index[picked[0]])
        self._buttons()

    def _buttons(self) -> None:
        p = self.periods.get(self.selected or -1)
        me = self.source.user
        self._signup.disabled = p is None or p.poc is not None or not self.source.may_submit()
        self._unlock.disabled = p is None or p.poc is None or (p.poc != me.username
                                                               and not me.is_admin)

    def act(self, action: str) -> None:
        p = self.periods.get(self.selected or -1)
        if p is None:
            self.tell("Select a period first.", "warning")
            return
        fn = self.source.signup if action == "signup" else self.source.unlock
        self.background(partial(fn, p.id, p.version), self._acted)

    def _acted(self, period: RotaPeriodOut) -> None:
        self.tell(f"{period.start}..{period.end}: {period.poc or 'open'}.", "success")
        self.background(self.source.rota, self.set_periods)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column("Weekly duty periods (Monday to Sunday, local days); the POC on duty "
                         "gets the escalations. Select a period, then **Sign up** (free "
                         "periods) or **Unlock** (your own).", pn.Row(self._signup, self._unlock),
                         self._notice, self._table, sizing_mode="stretch_width")
