import { LiveFeed } from '../src/models/livefeed';
import { FakeSocket, FakeTimers } from './fakes';

function feed(timers: FakeTimers, filters = {}) {
  let token = 't1';
  const live = new LiveFeed({
    url: () => `ws://host/base/astro-ops/api/v1/live?token=${token}`,
    connect: url => new FakeSocket(url),
    filters,
    initialDelay: 100,
    maxDelay: 800,
    timers
  });
  return { live, setToken: (t: string) => (token = t) };
}

beforeEach(() => {
  FakeSocket.all = [];
});

describe('LiveFeed', () => {
  it('subscribes from the given cursor with its filters once open', () => {
    const timers = new FakeTimers();
    const { live } = feed(timers, { object_type: ['STAGING_JOB'] });
    live.start(41);
    const socket = FakeSocket.all[0];
    expect(socket.sent).toEqual([]);
    socket.open();
    expect(socket.sent).toEqual([
      {
        type: 'subscribe',
        since: 41,
        filters: { object_type: ['STAGING_JOB'] }
      }
    ]);
    expect(live.state).toBe('open');
  });

  it('delivers events in order and moves its cursor', () => {
    const { live } = feed(new FakeTimers());
    const seen: number[] = [];
    live.onEvent((_, seq) => seen.push(seq));
    live.start(null);
    const socket = FakeSocket.all[0];
    socket.open();
    expect((socket.sent[0] as any).since).toBeNull();
    socket.event(5);
    socket.event(7);
    expect(seen).toEqual([5, 7]);
    expect(live.cursor).toBe(7);
  });

  it('reconnects after a drop with the last seq and loses nothing', () => {
    const timers = new FakeTimers();
    const { live, setToken } = feed(timers);
    const seen: number[] = [];
    live.onEvent((_, seq) => seen.push(seq));
    live.start(10);
    FakeSocket.all[0].open();
    FakeSocket.all[0].event(11);
    FakeSocket.all[0].event(12);
    FakeSocket.all[0].drop();
    expect(live.state).toBe('waiting');
    setToken('t2');
    expect(timers.fire()).toBe(100);
    const second = FakeSocket.all[1];
    expect(second.url).toContain('token=t2'); // the URL is built again
    second.open();
    expect(second.sent).toEqual([
      { type: 'subscribe', since: 12, filters: {} }
    ]);
    // the server replays what was missed; a duplicate of an old seq is ignored
    second.event(12);
    second.event(13);
    expect(seen).toEqual([11, 12, 13]);
    expect(live.connections).toBe(2);
  });

  it('backs off exponentially up to the maximum, and resets once connected', () => {
    const timers = new FakeTimers();
    const { live } = feed(timers);
    live.start();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      FakeSocket.all[FakeSocket.all.length - 1].drop();
      delays.push(timers.fire());
    }
    expect(delays).toEqual([100, 200, 400, 800, 800]);
    const socket = FakeSocket.all[FakeSocket.all.length - 1];
    socket.open();
    socket.drop();
    expect(timers.fire()).toBe(100);
  });

  it('ignores garbage and error messages without closing', () => {
    const { live } = feed(new FakeTimers());
    const seen: number[] = [];
    live.onEvent((_, seq) => seen.push(seq));
    const warn = jest
      .spyOn(console, 'warn')
      .mockImplementation(() => undefined);
    live.start();
    const socket = FakeSocket.all[0];
    socket.open();
    socket.onmessage?.({ data: 'not json' });
    socket.onmessage?.({
      data: JSON.stringify({ type: 'error', message: 'bad' })
    });
    socket.onmessage?.({ data: new ArrayBuffer(2) });
    socket.event(3);
    expect(seen).toEqual([3]);
    expect(warn).toHaveBeenCalledWith('astro-ops live feed: bad');
    warn.mockRestore();
  });

  it('a failing listener does not stop the others', () => {
    const { live } = feed(new FakeTimers());
    const seen: number[] = [];
    const error = jest
      .spyOn(console, 'error')
      .mockImplementation(() => undefined);
    live.onEvent(() => {
      throw new Error('boom');
    });
    live.onEvent((_, seq) => seen.push(seq));
    live.start();
    FakeSocket.all[0].open();
    FakeSocket.all[0].event(1);
    expect(seen).toEqual([1]);
    error.mockRestore();
  });

  it('stops for good: no reconnect, late messages from the old socket are dropped', () => {
    const timers = new FakeTimers();
    const { live } = feed(timers);
    const seen: number[] = [];
    live.onEvent((_, seq) => seen.push(seq));
    live.start();
    const socket = FakeSocket.all[0];
    socket.open();
    live.stop();
    expect(socket.closed).toBe(true);
    socket.event(9);
    socket.drop();
    expect(timers.pending).toEqual([]);
    expect(seen).toEqual([]);
    expect(live.state).toBe('stopped');
  });

  it('reconnect() replaces the socket at once and keeps the cursor', () => {
    const timers = new FakeTimers();
    const { live } = feed(timers);
    live.start(3);
    FakeSocket.all[0].open();
    FakeSocket.all[0].event(4);
    live.reconnect();
    expect(FakeSocket.all[0].closed).toBe(true);
    FakeSocket.all[1].open();
    expect((FakeSocket.all[1].sent[0] as any).since).toBe(4);
    FakeSocket.all[0].event(99); // stale socket
    expect(live.cursor).toBe(4);
  });

  it('a socket that cannot even be created is retried', () => {
    const timers = new FakeTimers();
    let fail = true;
    const live = new LiveFeed({
      url: () => 'ws://x',
      connect: url => {
        if (fail) {
          throw new Error('blocked');
        }
        return new FakeSocket(url);
      },
      initialDelay: 50,
      timers
    });
    live.start();
    expect(live.state).toBe('waiting');
    fail = false;
    expect(timers.fire()).toBe(50);
    expect(FakeSocket.all).toHaveLength(1);
  });
});
