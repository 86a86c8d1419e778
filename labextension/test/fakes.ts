/** Test doubles for the browser parts the models take as parameters. */

import type { ISocket, ITimers } from '../src/models/livefeed';
import type { IEvent } from '../src/types';

export class FakeSocket implements ISocket {
  static all: FakeSocket[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: unknown[] = [];
  closed = false;

  constructor(public url: string) {
    FakeSocket.all.push(this);
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(): void {
    this.closed = true;
  }

  // -- the server side ---------------------------------------------------------------------
  open(): void {
    this.onopen?.({});
  }

  event(seq: number, event: Partial<IEvent> = {}): void {
    this.onmessage?.({
      data: JSON.stringify({
        type: 'event',
        seq,
        event: makeEvent({ seq, ...event })
      })
    });
  }

  drop(code = 1006): void {
    this.onclose?.({ code });
  }
}

export class FakeTimers implements ITimers {
  pending: { fn: () => void; ms: number; handle: number }[] = [];
  private _next = 1;

  setTimeout(fn: () => void, ms: number): unknown {
    const handle = this._next++;
    this.pending.push({ fn, ms, handle });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter(t => t.handle !== handle);
  }

  /** Run the next timer; returns its delay. */
  fire(): number {
    const timer = this.pending.shift();
    if (!timer) {
      throw new Error('no timer pending');
    }
    timer.fn();
    return timer.ms;
  }
}

export function makeEvent(fields: Partial<IEvent> = {}): IEvent {
  return {
    id: 'e'.repeat(32),
    seq: 1,
    action: 'ADD',
    object: { type: 'STAGING_JOB', id: 'j'.repeat(32) },
    user: 'bob',
    project_id: null,
    status: 'WAITING',
    previous_status: 'NEW',
    manager: null,
    data: {},
    log: [],
    version: 1,
    created: '2030-01-01T00:00:00Z',
    updated: '2030-01-01T00:00:00Z',
    ...fields
  };
}
