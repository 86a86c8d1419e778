/**
 * The status bar item (your active staging jobs, overall progress; requests waiting for you
 * when you decide requests) and the small panel it opens (jobs with cancel, requests).
 *
 * Both render a `StatusModel` and re-render on its `changed` signal; neither polls.
 */

import { Signal, type ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { AstroOpsError } from '../api';
import { formatBytes, JobBook, type ITrackedJob } from '../models/jobs';
import type { IEvent } from '../types';

/** What the status item and panel show; fed by the plugin from REST and the live feed. */
export class StatusModel {
  constructor(readonly username: string) {
    this.jobs = new JobBook(username);
  }

  readonly jobs: JobBook;
  decider = false;
  requests: IEvent[] = [];
  /** Last error of an action taken from the panel (a refused cancel). */
  error = '';

  get changed(): ISignal<StatusModel, void> {
    return this._changed;
  }

  emitChanged(): void {
    this._changed.emit();
  }

  private _changed = new Signal<StatusModel, void>(this);
}

function jobsText(model: StatusModel): string {
  const s = model.jobs.summary();
  if (!s.active) {
    return '';
  }
  const parts = [`${s.active} staging`];
  if (s.fraction !== null) {
    parts.push(`${Math.floor(s.fraction * 100)}%`);
  }
  if (s.filesTotal) {
    parts.push(
      `${s.filesDone}/${s.filesTotal} files, ${formatBytes(s.bytesDone)}/${formatBytes(s.bytesTotal)}`
    );
  }
  return parts.join(' · ');
}

export class StatusItem extends Widget {
  constructor(private readonly _model: StatusModel) {
    super();
    this.addClass('jp-AstroOps-status');
    this.node.setAttribute('role', 'button');
    this.node.tabIndex = 0;
    this._jobs = document.createElement('span');
    this._jobs.className = 'jp-AstroOps-status-jobs';
    this._requests = document.createElement('span');
    this._requests.className = 'jp-AstroOps-status-requests';
    this.node.append(this._jobs, this._requests);
    _model.changed.connect(this._render, this);
    this._render();
  }

  private _render(): void {
    const jobs = jobsText(this._model);
    this._jobs.textContent = jobs || 'No staging';
    this._jobs.classList.toggle('jp-mod-idle', !jobs);
    const n = this._model.requests.length;
    this._requests.hidden = !this._model.decider;
    this._requests.textContent = `${n} request${n === 1 ? '' : 's'}`;
    this._requests.classList.toggle('jp-mod-waiting', n > 0);
    this.node.title =
      (jobs
        ? `Your staging jobs: ${jobs}`
        : 'No staging job of yours is running') +
      (this._model.decider ? `; ${n} request(s) wait for your decision` : '') +
      ' (click for details)';
  }

  private _jobs: HTMLSpanElement;
  private _requests: HTMLSpanElement;
}

export interface IPanelActions {
  cancel(job: ITrackedJob): Promise<void>;
  openRequests(): void;
}

export class StatusPanel extends Widget {
  constructor(
    private readonly _model: StatusModel,
    private readonly _actions: IPanelActions
  ) {
    super();
    this.addClass('jp-AstroOps-panel');
    _model.changed.connect(this._render, this);
    this._render();
  }

  dispose(): void {
    this._model.changed.disconnect(this._render, this);
    super.dispose();
  }

  private _render(): void {
    const node = this.node;
    node.replaceChildren();
    const heading = document.createElement('h3');
    heading.textContent = 'Your staging jobs';
    node.append(heading);
    const active = this._model.jobs.active();
    if (!active.length) {
      node.append(this._text('p', 'No job of yours is queued or running.'));
    }
    const list = document.createElement('ul');
    list.className = 'jp-AstroOps-panel-jobs';
    for (const job of active) {
      list.append(this._job(job));
    }
    node.append(list);
    if (this._model.error) {
      const error = this._text('div', this._model.error);
      error.className = 'jp-AstroOps-stage-error';
      error.setAttribute('role', 'alert');
      node.append(error);
    }
    if (this._model.decider) {
      const reqs = this._model.requests;
      node.append(
        this._text('h3', `Requests waiting for you (${reqs.length})`)
      );
      const ul = document.createElement('ul');
      ul.className = 'jp-AstroOps-panel-requests';
      for (const req of reqs) {
        const kind = String(req.data?.kind ?? 'request');
        const name = String(req.data?.name ?? '');
        ul.append(
          this._text('li', `${req.user_name || req.user}: ${kind} "${name}"`)
        );
      }
      node.append(ul);
      if (reqs.length) {
        const open = this._text('button', 'Decide in the Activity dashboard');
        open.className = 'jp-AstroOps-link';
        open.addEventListener('click', () => this._actions.openRequests());
        node.append(open);
      }
    }
  }

  private _job(job: ITrackedJob): HTMLLIElement {
    const li = document.createElement('li');
    const label = this._text('div', `${job.source} → ${job.target}`);
    label.className = 'jp-AstroOps-panel-label';
    const bar = document.createElement('progress');
    bar.max = job.bytesTotal || 1;
    bar.value = job.bytesTotal ? Math.min(job.bytesDone, job.bytesTotal) : 0;
    const detail = this._text(
      'span',
      job.state === 'waiting'
        ? 'queued'
        : `${job.filesDone}/${job.filesTotal} files, ` +
            `${formatBytes(job.bytesDone)}/${formatBytes(job.bytesTotal)}`
    );
    const cancel = this._text('button', 'Cancel');
    cancel.className = 'jp-mod-styled jp-mod-warn';
    cancel.title = `Cancel the job into ${job.target}`;
    cancel.addEventListener('click', () => {
      cancel.disabled = true;
      void this._actions.cancel(job).catch(err => {
        this._model.error =
          err instanceof AstroOpsError ? err.message : String(err);
        this._model.emitChanged();
      });
    });
    li.append(label, bar, detail, cancel);
    return li;
  }

  private _text<K extends keyof HTMLElementTagNameMap>(tag: K, text: string) {
    const node = document.createElement(tag);
    node.textContent = text;
    return node;
  }
}
