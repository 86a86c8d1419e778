import { JobBook, formatBytes } from '../src/models/jobs';
import type { IJob } from '../src/types';
import { makeEvent } from './fakes';

function job(fields: Partial<IJob>): IJob {
  return {
    id: 'a'.repeat(32),
    username: 'bob',
    source: { root: 'archive', path: 'night1' },
    target: 'data/night1',
    method: 'copy',
    status: 'running',
    files_total: 10,
    files_done: 5,
    bytes_total: 1000,
    bytes_done: 500,
    error: null,
    event_id: null,
    ...fields
  };
}

function jobEvent(id: string, status: string, data: object, user = 'bob') {
  return makeEvent({
    object: { type: 'STAGING_JOB', id },
    user,
    status,
    data: { root: 'archive', source: 'night1', target: 'data/night1', ...data }
  });
}

describe('JobBook', () => {
  it('sums the active jobs', () => {
    const book = new JobBook('bob');
    book.loadSnapshot([
      job({ id: '1' }),
      job({
        id: '2',
        status: 'queued',
        files_total: 0,
        bytes_total: 0,
        files_done: 0,
        bytes_done: 0
      }),
      job({ id: '3', status: 'succeeded' }),
      job({ id: '4', username: 'carol' })
    ]);
    expect(book.summary()).toEqual({
      active: 2,
      running: 1,
      waiting: 1,
      filesDone: 5,
      filesTotal: 10,
      bytesDone: 500,
      bytesTotal: 1000,
      fraction: 0.5
    });
  });

  it('follows a job through the feed and reports its transitions', () => {
    const book = new JobBook('bob');
    expect(book.applyEvent(jobEvent('j1', 'WAITING', {}))).toMatchObject({
      previous: null,
      job: { state: 'waiting' }
    });
    const running = book.applyEvent(
      jobEvent('j1', 'RUNNING', {
        files_total: 4,
        bytes_total: 4096,
        files_done: 1,
        bytes_done: 1024
      })
    );
    expect(running?.previous).toBe('waiting');
    expect(book.summary().fraction).toBe(0.25);
    const done = book.applyEvent(
      jobEvent('j1', 'SUCCESS', {
        files_total: 4,
        bytes_total: 4096,
        files_done: 4,
        bytes_done: 4096
      })
    );
    expect(done).toMatchObject({
      previous: 'running',
      job: { state: 'succeeded', target: 'data/night1' }
    });
    expect(book.summary()).toMatchObject({ active: 0, fraction: null });
  });

  it('a later snapshot never overrides what the feed said', () => {
    const book = new JobBook('bob');
    book.applyEvent(jobEvent('j1', 'SUCCESS', {}));
    book.loadSnapshot([job({ id: 'j1', status: 'running' })]);
    expect(book.get('j1')?.state).toBe('succeeded');
    expect(book.active()).toEqual([]);
  });

  it("ignores other users' jobs and other object types", () => {
    const book = new JobBook('bob');
    expect(book.applyEvent(jobEvent('j1', 'RUNNING', {}, 'carol'))).toBeNull();
    expect(
      book.applyEvent(makeEvent({ object: { type: 'PROJECT', id: '1' } }))
    ).toBeNull();
    expect(book.summary().active).toBe(0);
  });

  it('errors carry the last log line and count as finished', () => {
    const book = new JobBook('bob');
    const change = book.applyEvent({
      ...jobEvent('j1', 'ERROR', {}),
      log: [
        { time: 't', level: 'info', message: 'started' },
        { time: 't', level: 'warning', message: 'cancelled by bob' }
      ]
    });
    expect(change?.job).toMatchObject({
      state: 'failed',
      message: 'cancelled by bob'
    });
    book.prune();
    expect(book.get('j1')).toBeUndefined();
  });

  it('bad numbers do not poison the sums', () => {
    const book = new JobBook('bob');
    book.applyEvent(
      jobEvent('j1', 'RUNNING', {
        files_total: 'x',
        bytes_total: -5,
        bytes_done: null
      })
    );
    expect(book.summary()).toMatchObject({
      filesTotal: 0,
      bytesTotal: 0,
      fraction: null
    });
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [10 * 1024 * 1024, '10 MiB'],
    [123.4 * 1024 ** 3, '123 GiB']
  ])('%d -> %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
