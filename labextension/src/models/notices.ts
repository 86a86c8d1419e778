/**
 * Which live events become notifications, as data.
 *
 * Each `INoticeKind` says which events it is about (object type, action, whose event) and,
 * per status the event enters, the notification's type and message. Adding a kind (such as
 * the Ocat sign-off, whose events do not exist yet) is one more entry in `NOTICE_KINDS` and
 * one more boolean in `schema/plugin.json`'s `notifications` setting, under the same `id`.
 *
 * `NoticeWatcher` turns events into notices: it remembers the last status it saw per event,
 * so a progress note on an event (same status) never notifies twice, and a replay after a
 * reconnect notifies only what really changed while the socket was down.
 */

import type { IEvent } from '../types';

export type NoticeType = 'info' | 'success' | 'warning' | 'error';

/** Whose events a kind is about. */
export type Audience =
  /** events you caused (your jobs, your requests) */
  | 'self'
  /** events of others that the feed shows you (you lead the project, or you are an admin) */
  | 'others'
  /** events whose `data[groupField]` names one of your groups */
  | 'group';

export interface INoticeKind {
  /** Settings key (`notifications.<id>`). */
  id: string;
  /** Shown in the settings editor's description and in logs. */
  title: string;
  objectType: string;
  action?: string;
  audience: Audience;
  /** For `group`: the data field holding a group name or a list of them. */
  groupField?: string;
  /** Status entered -> notification. Placeholders: `{status}`, `{user}`, `{manager}`,
   *  `{object.id}`, `{data.<field>}`, `{log}` (the last log line). */
  on: { [status: string]: { type: NoticeType; message: string } };
  /** An "Open folder" action on the notification, to `data.target` in the file browser. */
  openTarget?: boolean;
}

export const NOTICE_KINDS: INoticeKind[] = [
  {
    id: 'staging-job',
    title: 'A staging job you started finished or failed',
    objectType: 'STAGING_JOB',
    audience: 'self',
    openTarget: true,
    on: {
      SUCCESS: {
        type: 'success',
        message: 'Staged {data.root}:{data.source} into {data.target}'
      },
      WARNING: {
        type: 'warning',
        message: 'Staged {data.root}:{data.source} into {data.target}: {log}'
      },
      ERROR: {
        type: 'error',
        message: 'Staging into {data.target} failed: {log}'
      }
    }
  },
  {
    id: 'request-decided',
    title: 'A request you filed was decided',
    objectType: 'PROJECT',
    action: 'REQ',
    audience: 'self',
    on: {
      APPROVED: {
        type: 'info',
        message:
          'Your request {data.kind} "{data.name}" was approved by {manager}'
      },
      DENIED: {
        type: 'warning',
        message:
          'Your request {data.kind} "{data.name}" was denied by {manager}: {log}'
      },
      SUCCESS: {
        type: 'success',
        message: 'Your request {data.kind} "{data.name}" is done'
      },
      ERROR: {
        type: 'error',
        message: 'Your request {data.kind} "{data.name}" failed: {log}'
      }
    }
  },
  {
    id: 'request-waiting',
    title: 'A request waits for your decision',
    objectType: 'PROJECT',
    action: 'REQ',
    audience: 'others',
    on: {
      PENDING: {
        type: 'info',
        message: '{user} asks for {data.kind} "{data.name}"'
      }
    }
  },
  {
    // Ocat is not built yet: its sign-off events will carry the group that must sign.
    id: 'ocat-signoff',
    title: 'A sign-off awaits your group',
    objectType: 'OCAT_SIGNOFF',
    audience: 'group',
    groupField: 'group',
    on: {
      PENDING: {
        type: 'info',
        message: 'A sign-off awaits {data.group}: {data.title}'
      }
    }
  }
];

export interface INotice {
  kind: INoticeKind;
  event: IEvent;
  type: NoticeType;
  message: string;
  /** Where "Open folder" goes (file browser path), if the kind offers it. */
  target: string | null;
}

/** Events whose last status is remembered (oldest forgotten first). */
export const MAX_REMEMBERED = 5000;

export interface IAudienceContext {
  username: string;
  groups: string[];
}

/** Fill `{...}` placeholders from an event; unknown ones become empty strings. */
export function render(template: string, event: IEvent): string {
  const lastLog = event.log?.length
    ? event.log[event.log.length - 1].message
    : '';
  return template
    .replace(/\{([a-z_.]+)\}/gi, (_, key: string) => {
      let value: unknown;
      if (key === 'status') {
        value = event.status;
      } else if (key === 'user') {
        value = event.user_name || event.user;
      } else if (key === 'manager') {
        value = event.manager ?? 'someone';
      } else if (key === 'log') {
        value = lastLog;
      } else if (key === 'object.id') {
        value = event.object.id;
      } else if (key.startsWith('data.')) {
        value = event.data?.[key.slice(5)];
      }
      return value === undefined || value === null ? '' : String(value);
    })
    .replace(/\s*:\s*$/, '')
    .trim();
}

function concerns(
  kind: INoticeKind,
  event: IEvent,
  who: IAudienceContext
): boolean {
  if (event.object.type !== kind.objectType) {
    return false;
  }
  if (kind.action && event.action !== kind.action) {
    return false;
  }
  switch (kind.audience) {
    case 'self':
      return event.user === who.username;
    case 'others':
      return event.user !== who.username;
    case 'group': {
      const raw = event.data?.[kind.groupField ?? 'group'];
      const groups = Array.isArray(raw) ? raw : [raw];
      return groups.some(g => typeof g === 'string' && who.groups.includes(g));
    }
  }
  return false;
}

export class NoticeWatcher {
  constructor(
    who: IAudienceContext,
    kinds: INoticeKind[] = NOTICE_KINDS,
    enabled: (kindId: string) => boolean = () => true
  ) {
    this._who = who;
    this._kinds = kinds;
    this._enabled = enabled;
  }

  /** Remember a status seen outside the feed (a REST snapshot), so it does not notify. */
  seen(eventId: string, status: string): void {
    this._remember(eventId, status);
  }

  /** The notices an event causes (at most one per kind; usually none). */
  observe(event: IEvent): INotice[] {
    const before = this._last.get(event.id);
    this._remember(event.id, event.status);
    if (before === event.status) {
      return [];
    }
    const out: INotice[] = [];
    for (const kind of this._kinds) {
      const rule = kind.on[event.status];
      if (
        !rule ||
        !this._enabled(kind.id) ||
        !concerns(kind, event, this._who)
      ) {
        continue;
      }
      const target = event.data?.target;
      out.push({
        kind,
        event,
        type: rule.type,
        message: render(rule.message, event),
        target: kind.openTarget && typeof target === 'string' ? target : null
      });
    }
    return out;
  }

  private _remember(eventId: string, status: string): void {
    this._last.delete(eventId); // re-insert: the map stays ordered by last use
    this._last.set(eventId, status);
    if (this._last.size > MAX_REMEMBERED) {
      const oldest = this._last.keys().next().value;
      if (oldest !== undefined) {
        this._last.delete(oldest);
      }
    }
  }

  private _who: IAudienceContext;
  private _kinds: INoticeKind[];
  private _enabled: (kindId: string) => boolean;
  private _last = new Map<string, string>();
}
