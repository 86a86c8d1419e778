/**
 * Your staging jobs as the status bar shows them: which are queued or running, and the
 * overall progress in files and bytes.
 *
 * Fed twice: once by a REST snapshot (`GET staging/jobs`) and then by the live feed, where a
 * job is an activity event with `object.type == "STAGING_JOB"`, `object.id` the job id, and
 * `data` carrying `files_done/files_total/bytes_done/bytes_total` (statuses WAITING, RUNNING,
 * SUCCESS, WARNING, ERROR). An event always wins over the snapshot, whatever order they
 * arrive in, because the feed is replayed from a cursor taken before the snapshot.
 */

import type { IEvent, IJob } from '../types';

export const STAGING_JOB = 'STAGING_JOB';

export type JobState = 'waiting' | 'running' | 'succeeded' | 'failed';

export interface ITrackedJob {
  id: string;
  state: JobState;
  source: string;
  target: string;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** The last log line (an error message for a failed job). */
  message: string;
}

export interface IJobSummary {
  /** Jobs queued or running. */
  active: number;
  running: number;
  waiting: number;
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Fraction of bytes done over the active jobs (0..1), `null` before any is planned. */
  fraction: number | null;
}

/** A job moved to another state (what notifications and the panel react to). */
export interface IJobChange {
  job: ITrackedJob;
  previous: JobState | null;
}

const EVENT_STATES: { [status: string]: JobState } = {
  NEW: 'waiting',
  WAITING: 'waiting',
  RUNNING: 'running',
  SUCCESS: 'succeeded',
  WARNING: 'succeeded',
  ERROR: 'failed'
};

const JOB_STATES: { [status: string]: JobState } = {
  queued: 'waiting',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'failed'
};

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0
    ? value
    : 0;
}

export function isActive(job: ITrackedJob): boolean {
  return job.state === 'waiting' || job.state === 'running';
}

export class JobBook {
  /** `username`: only this user's jobs are kept (an admin's feed carries everyone's). */
  constructor(username: string) {
    this._username = username;
  }

  /** Take `GET staging/jobs`; jobs already known from the feed are left as they are. */
  loadSnapshot(jobs: IJob[]): void {
    for (const job of jobs) {
      if (job.username !== this._username || this._fromFeed.has(job.id)) {
        continue;
      }
      this._jobs.set(job.id, {
        id: job.id,
        state: JOB_STATES[job.status] ?? 'waiting',
        source: `${job.source.root}:${job.source.path}`,
        target: job.target,
        filesDone: count(job.files_done),
        filesTotal: count(job.files_total),
        bytesDone: count(job.bytes_done),
        bytesTotal: count(job.bytes_total),
        message: job.error ?? ''
      });
    }
  }

  /** Apply a live event; returns the change if it concerns one of this user's jobs. */
  applyEvent(event: IEvent): IJobChange | null {
    if (event.object.type !== STAGING_JOB || !event.object.id) {
      return null;
    }
    if (event.user !== this._username) {
      return null;
    }
    const id = event.object.id;
    const old = this._jobs.get(id);
    const data = event.data ?? {};
    const last = event.log?.length ? event.log[event.log.length - 1] : null;
    const job: ITrackedJob = {
      id,
      state: EVENT_STATES[event.status] ?? old?.state ?? 'waiting',
      source: data.root
        ? `${String(data.root)}:${String(data.source ?? '')}`
        : (old?.source ?? ''),
      target:
        data.target !== undefined ? String(data.target) : (old?.target ?? ''),
      filesDone: count(data.files_done),
      filesTotal: count(data.files_total),
      bytesDone: count(data.bytes_done),
      bytesTotal: count(data.bytes_total),
      message: last ? last.message : (old?.message ?? '')
    };
    this._fromFeed.add(id);
    this._jobs.set(id, job);
    return { job, previous: old ? old.state : null };
  }

  get(id: string): ITrackedJob | undefined {
    return this._jobs.get(id);
  }

  /** Queued and running jobs, oldest first. */
  active(): ITrackedJob[] {
    return [...this._jobs.values()].filter(isActive);
  }

  /** Forget finished jobs (keeps the book small over a long session). */
  prune(): void {
    for (const [id, job] of this._jobs) {
      if (!isActive(job)) {
        this._jobs.delete(id);
        this._fromFeed.delete(id);
      }
    }
  }

  summary(): IJobSummary {
    const active = this.active();
    const sum = (pick: (job: ITrackedJob) => number) =>
      active.reduce((total, job) => total + pick(job), 0);
    const bytesTotal = sum(job => job.bytesTotal);
    const bytesDone = sum(job => Math.min(job.bytesDone, job.bytesTotal));
    return {
      active: active.length,
      running: active.filter(job => job.state === 'running').length,
      waiting: active.filter(job => job.state === 'waiting').length,
      filesDone: sum(job => job.filesDone),
      filesTotal: sum(job => job.filesTotal),
      bytesDone,
      bytesTotal,
      fraction: bytesTotal > 0 ? bytesDone / bytesTotal : null
    };
  }

  private _username: string;
  private _jobs = new Map<string, ITrackedJob>();
  private _fromFeed = new Set<string>();
}

/** `1536` -> `'1.5 KiB'`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${parseFloat(value.toFixed(digits))} ${units[unit]}`;
}
