/**
 * Client of the live activity websocket (`<base_url>astro-ops/api/v1/live`).
 *
 * Protocol (see the server's `activity/live.py`): after the socket opens, send
 * `{"type": "subscribe", "since": <cursor or null>, "filters": {...}}`; the server then sends
 * every visible event changed after `since` and live ones, as
 * `{"type": "event", "seq": N, "event": {...}}`.
 *
 * The feed keeps the cursor (the last `seq` received). When the connection drops it
 * reconnects with exponential backoff and subscribes again with that cursor, so no event is
 * lost and none is delivered twice (an event at or below the cursor is ignored).
 *
 * No JupyterLab imports: the socket constructor and the timers are injected, so the model is
 * unit-tested with a fake socket.
 */

import type { ILiveFilters, IEvent, LiveMessage } from '../types';

/** The part of the browser `WebSocket` the feed uses. */
export interface ISocket {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type FeedState = 'idle' | 'connecting' | 'open' | 'waiting' | 'stopped';

export interface ITimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ILiveFeedOptions {
  /** The websocket URL (called at every connection: the token may change). */
  url: () => string;
  /** Opens a socket (`url => new settings.WebSocket(url)` in JupyterLab). */
  connect: (url: string) => ISocket;
  filters?: ILiveFilters;
  /** First reconnect delay in ms (doubles up to `maxDelay`). */
  initialDelay?: number;
  maxDelay?: number;
  timers?: ITimers;
}

export type EventListener = (event: IEvent, seq: number) => void;
export type StateListener = (state: FeedState) => void;

const defaultTimers: ITimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: handle => clearTimeout(handle as ReturnType<typeof setTimeout>)
};

export class LiveFeed {
  constructor(options: ILiveFeedOptions) {
    this._options = options;
    this._timers = options.timers ?? defaultTimers;
    this._initialDelay = options.initialDelay ?? 1000;
    this._maxDelay = options.maxDelay ?? 30000;
    this._delay = this._initialDelay;
  }

  /** The last `seq` received (`null`: none yet, and started without a cursor). */
  get cursor(): number | null {
    return this._cursor;
  }

  get state(): FeedState {
    return this._state;
  }

  /** How many times the feed has (re)connected; for diagnostics and tests. */
  get connections(): number {
    return this._connections;
  }

  /** Subscribe to events; returns a function that unsubscribes. */
  onEvent(listener: EventListener): () => void {
    this._eventListeners.add(listener);
    return () => this._eventListeners.delete(listener);
  }

  onState(listener: StateListener): () => void {
    this._stateListeners.add(listener);
    return () => this._stateListeners.delete(listener);
  }

  /**
   * Connect, replaying from `since` (e.g. `GET me`'s `feed_seq`, so nothing between a REST
   * snapshot and the subscription is missed); `null` means live events only.
   */
  start(since: number | null = null): void {
    if (this._state !== 'idle' && this._state !== 'stopped') {
      return;
    }
    this._cursor = since;
    this._open();
  }

  /** Close for good (no reconnect). */
  stop(): void {
    this._setState('stopped');
    if (this._timer !== null) {
      this._timers.clearTimeout(this._timer);
      this._timer = null;
    }
    const socket = this._socket;
    this._socket = null;
    if (socket) {
      socket.onclose = null;
      socket.close(1000, 'stopped');
    }
  }

  /** Drop the connection now and reconnect at once (e.g. when the browser comes online). */
  reconnect(): void {
    if (this._state === 'stopped' || this._state === 'idle') {
      return;
    }
    this._delay = this._initialDelay;
    if (this._timer !== null) {
      this._timers.clearTimeout(this._timer);
      this._timer = null;
    }
    const socket = this._socket;
    this._socket = null;
    if (socket) {
      socket.onclose = null;
      socket.close(1000, 'reconnecting');
    }
    this._open();
  }

  private _open(): void {
    this._setState('connecting');
    let socket: ISocket;
    try {
      socket = this._options.connect(this._options.url());
    } catch {
      this._scheduleReconnect();
      return;
    }
    this._socket = socket;
    this._connections++;
    socket.onopen = () => {
      if (this._socket !== socket) {
        return;
      }
      this._delay = this._initialDelay;
      this._setState('open');
      socket.send(
        JSON.stringify({
          type: 'subscribe',
          since: this._cursor,
          filters: this._options.filters ?? {}
        })
      );
    };
    socket.onmessage = msg => {
      if (this._socket === socket) {
        this._handle(msg.data);
      }
    };
    socket.onerror = () => {
      // a close event always follows; reconnect from there
    };
    socket.onclose = () => {
      if (this._socket !== socket) {
        return;
      }
      this._socket = null;
      this._scheduleReconnect();
    };
  }

  private _handle(data: unknown): void {
    if (typeof data !== 'string') {
      return;
    }
    let msg: LiveMessage;
    try {
      msg = JSON.parse(data) as LiveMessage;
    } catch {
      return;
    }
    if (msg.type === 'error') {
      console.warn(`astro-ops live feed: ${msg.message}`);
      return;
    }
    if (msg.type !== 'event' || typeof msg.seq !== 'number') {
      return;
    }
    if (this._cursor !== null && msg.seq <= this._cursor) {
      return; // already delivered before a reconnect
    }
    this._cursor = msg.seq;
    for (const listener of [...this._eventListeners]) {
      try {
        listener(msg.event, msg.seq);
      } catch (err) {
        console.error('astro-ops live feed listener failed', err);
      }
    }
  }

  private _scheduleReconnect(): void {
    if (this._state === 'stopped') {
      return;
    }
    this._setState('waiting');
    const delay = this._delay;
    this._delay = Math.min(this._delay * 2, this._maxDelay);
    this._timer = this._timers.setTimeout(() => {
      this._timer = null;
      if (this._state === 'waiting') {
        this._open();
      }
    }, delay);
  }

  private _setState(state: FeedState): void {
    if (state === this._state) {
      return;
    }
    this._state = state;
    for (const listener of [...this._stateListeners]) {
      listener(state);
    }
  }

  private _options: ILiveFeedOptions;
  private _timers: ITimers;
  private _initialDelay: number;
  private _maxDelay: number;
  private _delay: number;
  private _cursor: number | null = null;
  private _state: FeedState = 'idle';
  private _socket: ISocket | null = null;
  private _timer: unknown = null;
  private _connections = 0;
  private _eventListeners = new Set<EventListener>();
  private _stateListeners = new Set<StateListener>();
}
