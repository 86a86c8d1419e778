/**
 * Wire types of the astro-ops REST API and live feed (see the server's openapi.json).
 *
 * Plain interfaces only, so the models in `models/` stay free of JupyterLab imports.
 */

/** `GET dashboards`: one Panel dashboard behind the Jupyter login. */
export interface IDashboard {
  name: string;
  title: string;
  description: string;
  /** Absolute path with the base URL: `<base_url>astro-ops/dash/<name>`. */
  url: string;
}

/** `GET me`: who you are to astro-ops. */
export interface IMe {
  username: string;
  display_name: string;
  groups: string[];
  roles: string[];
  is_admin: boolean;
  decider: boolean;
  kernel_tokens: boolean;
  feed_seq: number;
}

/** `GET staging/roots`: a storage root you may use. */
export interface IRoot {
  name: string;
  protocol: string;
  local: boolean;
  methods: string[];
  writable: boolean;
  description: string;
}

/** One entry of `GET staging/roots/<root>/ls`. */
export interface ILsEntry {
  name: string;
  path: string;
  type: 'file' | 'directory' | 'other';
  size: number | null;
}

export interface ILsOut {
  root: string;
  path: string;
  entries: ILsEntry[];
}

/** `GET staging/methods`. */
export interface IMethods {
  methods: string[];
  compat_methods: string[];
}

export type JobStatus =
  'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A staging job (`GET staging/jobs`, `POST staging/jobs`). */
export interface IJob {
  id: string;
  username: string;
  source: { root: string; path: string };
  target: string;
  method: string;
  status: JobStatus;
  files_total: number;
  files_done: number;
  bytes_total: number;
  bytes_done: number;
  error: string | null;
  event_id: string | null;
}

/** `POST staging/jobs` body. */
export interface IJobCreate {
  source: { root: string; path: string };
  target: string;
  method: string;
}

/** An activity event (`EventOut`). */
export interface IEvent {
  id: string;
  seq: number;
  action: 'ADD' | 'DEL' | 'MOD' | 'REQ';
  object: { type: string; id: string | null };
  user: string;
  /** The acting person's display name when the event was written ('' for a system actor). */
  user_name?: string;
  project_id: number | null;
  status: string;
  previous_status: string | null;
  manager: string | null;
  data: { [key: string]: unknown };
  log: { time: string; level: string; message: string }[];
  version: number;
  created: string;
  updated: string;
}

/** Live feed messages from the server. */
export interface ILiveEvent {
  type: 'event';
  seq: number;
  event: IEvent;
}

export interface ILiveError {
  type: 'error';
  message: string;
}

export type LiveMessage = ILiveEvent | ILiveError;

/** Live feed filters (the server's `EventFilter`, without `since`/`limit`). */
export interface ILiveFilters {
  status?: string[];
  action?: string[];
  object_type?: string[];
  object_id?: string;
  user?: string;
  project_id?: number;
}

/** `POST kernel-tokens`. */
export interface IKernelToken {
  kernel_id: string;
  token: string;
  expires: string;
}
