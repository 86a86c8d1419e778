import { NOTICE_KINDS, NoticeWatcher, render } from '../src/models/notices';
import { makeEvent } from './fakes';

const bob = { username: 'bob', groups: ['arcops'] };

function staging(status: string, extra: object = {}) {
  return makeEvent({
    id: 'ev1',
    object: { type: 'STAGING_JOB', id: 'job1' },
    status,
    data: { root: 'archive', source: 'night1', target: 'data/night1' },
    ...extra
  });
}

describe('NoticeWatcher', () => {
  it('notifies once when your job finishes, with the folder to open', () => {
    const watcher = new NoticeWatcher(bob);
    expect(watcher.observe(staging('WAITING'))).toEqual([]);
    expect(watcher.observe(staging('RUNNING'))).toEqual([]);
    expect(watcher.observe(staging('RUNNING'))).toEqual([]); // progress note
    const [notice] = watcher.observe(staging('SUCCESS'));
    expect(notice).toMatchObject({
      type: 'success',
      message: 'Staged archive:night1 into data/night1',
      target: 'data/night1'
    });
    expect(notice.kind.id).toBe('staging-job');
    expect(watcher.observe(staging('SUCCESS'))).toEqual([]); // a later note: no repeat
  });

  it('a failed job says why', () => {
    const watcher = new NoticeWatcher(bob);
    const [notice] = watcher.observe(
      staging('ERROR', {
        log: [{ time: 't', level: 'error', message: '2 files failed' }]
      })
    );
    expect(notice).toMatchObject({
      type: 'error',
      message: 'Staging into data/night1 failed: 2 files failed'
    });
  });

  it("does not notify about someone else's job (an admin's feed)", () => {
    const watcher = new NoticeWatcher({ username: 'alice', groups: [] });
    expect(watcher.observe(staging('SUCCESS'))).toEqual([]);
  });

  it('a status already seen over REST does not notify', () => {
    const watcher = new NoticeWatcher(bob);
    watcher.seen('ev1', 'SUCCESS');
    expect(watcher.observe(staging('SUCCESS'))).toEqual([]);
  });

  it('request decided, for the requester; waiting, for the decider', () => {
    const request = (status: string, user = 'bob') =>
      makeEvent({
        id: 'req1',
        action: 'REQ',
        object: { type: 'PROJECT', id: null },
        user,
        status,
        manager: status === 'PENDING' ? null : 'alice',
        data: { kind: 'project.create', name: 'Survey' }
      });
    const mine = new NoticeWatcher(bob);
    expect(mine.observe(request('PENDING'))).toEqual([]);
    expect(mine.observe(request('APPROVED'))[0].message).toBe(
      'Your request project.create "Survey" was approved by alice'
    );
    expect(mine.observe(request('SUCCESS'))[0].type).toBe('success');
    const decider = new NoticeWatcher({ username: 'alice', groups: [] });
    const [waiting] = decider.observe(request('PENDING'));
    expect(waiting.kind.id).toBe('request-waiting');
    expect(waiting.message).toBe('bob asks for project.create "Survey"');
    const named = makeEvent({
      ...request('PENDING'),
      id: 'req2',
      user_name: 'Bob Observer'
    });
    expect(decider.observe(named)[0].message).toBe(
      'Bob Observer asks for project.create "Survey"'
    );
  });

  it('kinds can be switched off by settings', () => {
    const off = new Set(['staging-job']);
    const watcher = new NoticeWatcher(bob, NOTICE_KINDS, id => !off.has(id));
    expect(watcher.observe(staging('SUCCESS'))).toEqual([]);
  });

  it('a sign-off kind matches by group (data-driven, for Ocat)', () => {
    const signoff = (group: unknown) =>
      makeEvent({
        id: `s-${String(group)}`,
        object: { type: 'OCAT_SIGNOFF', id: '7' },
        user: 'carol',
        status: 'PENDING',
        data: { group, title: 'obsid 1234 exposure time' }
      });
    const watcher = new NoticeWatcher(bob);
    expect(watcher.observe(signoff('arcops'))[0].message).toBe(
      'A sign-off awaits arcops: obsid 1234 exposure time'
    );
    expect(watcher.observe(signoff(['x', 'arcops']))).toHaveLength(1);
    expect(watcher.observe(signoff('other'))).toEqual([]);
  });

  it('every kind has an id the settings schema knows', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const schema = require('../schema/plugin.json');
    const props = schema.properties.notifications.properties;
    for (const kind of NOTICE_KINDS) {
      expect(props[kind.id]).toMatchObject({ type: 'boolean' });
    }
    expect(Object.keys(props).sort()).toEqual(
      NOTICE_KINDS.map(k => k.id).sort()
    );
  });
});

describe('render', () => {
  it('fills placeholders and drops a dangling colon', () => {
    const event = makeEvent({ data: { a: 1 }, log: [] });
    expect(render('x {data.a} {data.missing}: {log}', event)).toBe('x 1');
    expect(render('{status} by {manager}', event)).toBe('WAITING by someone');
  });
});
