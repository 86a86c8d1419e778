/**
 * Paths of the "Stage data here..." dialog: where a staging job lands.
 *
 * Targets are relative to the Jupyter server's root directory, '/'-separated, as the file
 * browser shows them (`data/night1`, or `''` for the root). The server checks confinement
 * again; these helpers only build what the user asked for and refuse names that cannot be
 * right, so the dialog can say so before anything is sent.
 */

/** Join path segments with '/', dropping empty ones and stray slashes. */
export function joinPath(...parts: string[]): string {
  return parts
    .flatMap(part => part.split('/'))
    .filter(segment => segment !== '')
    .join('/');
}

/** The last segment of a path (`'night1'` for `'raw/night1/'`), `''` for the root. */
export function basename(path: string): string {
  const segments = path.split('/').filter(segment => segment !== '');
  return segments.length ? segments[segments.length - 1] : '';
}

/** The parent of a path (`'raw'` for `'raw/night1'`), `''` at the top. */
export function parentPath(path: string): string {
  const segments = path.split('/').filter(segment => segment !== '');
  return segments.slice(0, -1).join('/');
}

/**
 * Why `name` cannot be the name of a staged file or directory, or `null` if it can.
 *
 * One segment: not empty, not `.`/`..`, no slash, backslash or control character.
 */
export function nameProblem(name: string): string | null {
  if (name.trim() === '') {
    return 'Give the staged data a name.';
  }
  if (name === '.' || name === '..') {
    return `"${name}" is not a name.`;
  }
  if (/[/\\]/.test(name)) {
    return 'A name cannot contain "/" or "\\".';
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    return 'A name cannot contain control characters.';
  }
  return null;
}

/** The job target: `<folder you clicked>/<name>`. */
export function stagingTarget(folder: string, name: string): string {
  const problem = nameProblem(name);
  if (problem !== null) {
    throw new Error(problem);
  }
  return joinPath(folder, name);
}

/** Breadcrumbs of a path inside a root: `[['', root], ['raw', 'raw'], ['raw/n1', 'n1']]`. */
export function crumbs(rootName: string, path: string): [string, string][] {
  const out: [string, string][] = [['', rootName]];
  let acc = '';
  for (const segment of path.split('/').filter(s => s !== '')) {
    acc = joinPath(acc, segment);
    out.push([acc, segment]);
  }
  return out;
}
