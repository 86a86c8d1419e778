import {
  basename,
  crumbs,
  joinPath,
  nameProblem,
  parentPath,
  stagingTarget
} from '../src/models/paths';

describe('paths', () => {
  it('joins without empty segments', () => {
    expect(joinPath('', 'night1')).toBe('night1');
    expect(joinPath('data/', '/night1/')).toBe('data/night1');
    expect(joinPath('a//b', '', 'c')).toBe('a/b/c');
    expect(joinPath()).toBe('');
  });

  it('basename and parent', () => {
    expect(basename('raw/night1/')).toBe('night1');
    expect(basename('frame.fits')).toBe('frame.fits');
    expect(basename('')).toBe('');
    expect(parentPath('raw/night1')).toBe('raw');
    expect(parentPath('raw')).toBe('');
  });

  it('the target is the clicked folder plus the name', () => {
    expect(stagingTarget('data', 'night1')).toBe('data/night1');
    expect(stagingTarget('', 'night1')).toBe('night1');
    expect(stagingTarget('work/2024 runs', 'frame 1.fits')).toBe(
      'work/2024 runs/frame 1.fits'
    );
  });

  it.each(['', '  ', '.', '..', 'a/b', 'a\\b', 'bad\u0000name', 'tab\tname'])(
    'refuses the name %j',
    name => {
      expect(nameProblem(name)).not.toBeNull();
      expect(() => stagingTarget('data', name)).toThrow();
    }
  );

  it('accepts ordinary names', () => {
    for (const name of ['night1', 'log #1 (raw).txt', 'é', '.hidden', '...']) {
      expect(nameProblem(name)).toBeNull();
    }
  });

  it('breadcrumbs', () => {
    expect(crumbs('archive', 'raw/n1/')).toEqual([
      ['', 'archive'],
      ['raw', 'raw'],
      ['raw/n1', 'n1']
    ]);
    expect(crumbs('archive', '')).toEqual([['', 'archive']]);
  });
});
